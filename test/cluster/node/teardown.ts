// Leaves the machine as it was before a real node ran: no processes, mounts, network namespace, veths, routes,
// cgroups, container logs or files. Synchronous and idempotent, so the same code runs from stop(), from the
// process exit handler, and from the reaper after a SIGKILL (as `node teardown.js '<NodeResources JSON>'`).
//
// Order matters: processes first (a running containerd or kubelet would re-create what we remove), then mounts
// (the kubelet bind-mounts its root dir onto itself, containerd mounts overlay root filesystems and pod network
// namespaces under its state dir), then the network namespace (deleting it deletes the veth pair, and with the
// host end the host routes into it), then cgroups and files.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeResources } from './layout.js';

const CGROUP_ROOT = '/sys/fs/cgroup';
/** The kubelet links every container's log here, whatever its podLogsDir (a path fixed in its source). */
const CONTAINER_LOG_LINKS = '/var/log/containers';

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The mounted cgroup hierarchies (v1 controllers, and the v2 one where it is mounted beside them). */
export function cgroupHierarchies(): string[] {
  if (!existsSync(CGROUP_ROOT)) return [];
  if (existsSync(join(CGROUP_ROOT, 'cgroup.procs'))) return [CGROUP_ROOT]; // pure cgroup v2
  return readdirSync(CGROUP_ROOT)
    .map((name) => join(CGROUP_ROOT, name))
    .filter((dir) => existsSync(join(dir, 'cgroup.procs')));
}

/** Every pid in a cgroup and its descendants, in one hierarchy. */
function pidsUnder(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const pids: number[] = [];
  const walk = (d: string): void => {
    try {
      for (const line of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (line !== '') pids.push(Number(line));
      for (const entry of readdirSync(d, { withFileTypes: true })) if (entry.isDirectory()) walk(join(d, entry.name));
    } catch {
      // removed while we walked it
    }
  };
  walk(dir);
  return pids;
}

/** Processes whose command line names the run's folder: containerd's shims, in case one left the cgroup. */
function pidsNaming(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

function killAll(r: NodeResources): number {
  const hierarchies = cgroupHierarchies();
  let remaining = 0;
  for (let round = 0; round < 50; round++) {
    const pids = new Set([...hierarchies.flatMap((h) => pidsUnder(join(h, r.cgroup))), ...pidsNaming(r.dir)]);
    remaining = pids.size;
    if (remaining === 0) return 0;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    sleepSync(100);
  }
  return remaining;
}

/** Mount points at or under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const decode = (field: string): string => field.replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => decode(line.split(' ')[4] ?? ''))
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

function run(file: string, args: string[]): boolean {
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

function unmountAll(dir: string): number {
  for (let round = 0; round < 5; round++) {
    const mounts = mountsUnder(dir);
    if (mounts.length === 0) return 0;
    for (const mountPoint of mounts) run('umount', ['--lazy', mountPoint]);
  }
  return mountsUnder(dir).length;
}

function removeCgroups(cgroup: string): void {
  for (const hierarchy of cgroupHierarchies()) {
    const top = join(hierarchy, cgroup);
    if (!existsSync(top)) continue;
    const dirs: string[] = [];
    const walk = (d: string): void => {
      dirs.push(d);
      try {
        for (const entry of readdirSync(d, { withFileTypes: true })) if (entry.isDirectory()) walk(join(d, entry.name));
      } catch {
        // gone
      }
    };
    walk(top);
    for (const d of dirs.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // still busy or gone; reported by the caller's check
      }
    }
  }
}

function removeLogLinks(dir: string): void {
  if (!existsSync(CONTAINER_LOG_LINKS)) return;
  for (const name of readdirSync(CONTAINER_LOG_LINKS)) {
    const link = join(CONTAINER_LOG_LINKS, name);
    try {
      if (readlinkSync(link).startsWith(dir)) unlinkSync(link);
    } catch {
      // not a link, or gone
    }
  }
}

/**
 * `ip netns add` makes /run/netns a shared bind mount of itself on first use; once no namespace is left in it, undo
 * that (best effort: another tool may have made it, and may be using it).
 */
function removeEmptyNetnsDir(): void {
  try {
    if (!existsSync('/run/netns') || readdirSync('/run/netns').length > 0) return;
    if (mountsUnder('/run/netns').length > 0) run('umount', ['/run/netns']);
    rmdirSync('/run/netns');
  } catch {
    // in use, or not ours
  }
}

/** Unix sockets something listens on (`ss -xl`): a shim socket nobody listens on any more is stale. */
function listeningSockets(): Set<string> {
  try {
    const out = execFileSync('ss', ['-xlnH'], { encoding: 'utf8', timeout: 10_000 });
    return new Set(out.split('\n').map((line) => line.trim().split(/\s+/)[4] ?? '').filter((path) => path.startsWith('/')));
  } catch {
    return new Set();
  }
}

/**
 * Removes, under a host folder this run created, stale shim sockets and then every folder left empty, deepest
 * first. Files that are not stale sockets are kept: they are not ours.
 */
function prune(top: string): void {
  if (!existsSync(top)) return;
  const listening = listeningSockets();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isSocket() && !listening.has(path)) unlinkSync(path);
      else if (dir.startsWith('/var/lib/cni/')) unlinkSync(path); // libcni's result cache, of our pods only: we made the folder
    }
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  };
  try {
    walk(top);
  } catch {
    // in use by something else
  }
}

/**
 * Removes everything of one run. Returns what could not be removed, as short phrases (empty when the machine is
 * clean again).
 */
export function teardownNode(r: NodeResources): string[] {
  const problems: string[] = [];
  const alive = killAll(r);
  if (alive > 0) problems.push(`${alive} processes of cgroup ${r.cgroup} still alive`);
  const mounted = unmountAll(r.dir);
  if (mounted > 0) problems.push(`${mounted} mounts under ${r.dir}`);
  if (existsSync(`/var/run/netns/${r.netns}`)) run('ip', ['netns', 'delete', r.netns]);
  if (existsSync(`/sys/class/net/${r.hostVeth}`)) run('ip', ['link', 'delete', r.hostVeth]);
  if (existsSync(`/var/run/netns/${r.netns}`)) problems.push(`network namespace ${r.netns}`);
  else removeEmptyNetnsDir();
  if (existsSync(`/sys/class/net/${r.hostVeth}`)) problems.push(`interface ${r.hostVeth}`);
  removeCgroups(r.cgroup);
  const leftCgroups = cgroupHierarchies().filter((h) => existsSync(join(h, r.cgroup)));
  if (leftCgroups.length > 0) problems.push(`cgroup ${r.cgroup} in ${leftCgroups.length} hierarchies`);
  removeLogLinks(r.dir);
  for (const dir of r.hostDirsToPrune ?? []) prune(dir);
  if (mounted === 0) rmSync(r.dir, { recursive: true, force: true });
  if (existsSync(r.dir)) problems.push(`folder ${r.dir}`);
  return problems;
}

/** What a run leaves on the machine while it lives: for tests that check a teardown left nothing behind. */
export function leftovers(r: NodeResources): string[] {
  const found: string[] = [];
  if (existsSync(`/var/run/netns/${r.netns}`)) found.push(`network namespace ${r.netns}`);
  if (existsSync(`/sys/class/net/${r.hostVeth}`)) found.push(`interface ${r.hostVeth}`);
  if (cgroupHierarchies().some((h) => existsSync(join(h, r.cgroup)))) found.push(`cgroup ${r.cgroup}`);
  if (mountsUnder(r.dir).length > 0) found.push(`mounts under ${r.dir}`);
  if (existsSync(r.dir) && statSync(r.dir).isDirectory()) found.push(`folder ${r.dir}`);
  if (pidsNaming(r.dir).length > 0) found.push(`processes naming ${r.dir}`);
  for (const dir of r.hostDirsToPrune ?? []) if (existsSync(dir)) found.push(`host folder ${dir}`);
  return found;
}

// As a program: the reaper's way to run the teardown after the harness died.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = teardownNode(JSON.parse(process.argv[2] ?? '{}') as NodeResources);
  if (problems.length > 0) {
    process.stderr.write(`teardown: left behind: ${problems.join('; ')}\n`);
    process.exit(1);
  }
}
