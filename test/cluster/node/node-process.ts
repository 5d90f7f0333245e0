// Daemons of the real node (containerd, the kubelet, kube-proxy): started in the node's network namespace and in the
// run's own cgroup, so that the teardown can find and kill every process they ever started, pods included.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from '../process.js';
import type { NodeResources } from './layout.js';
import { inNodeNetwork } from './network.js';
import { cgroupHierarchies } from './teardown.js';

/** Makes the run's cgroup in every hierarchy (cpuset needs its cpus and mems copied from the parent to be usable). */
export function createRunCgroup(r: NodeResources): void {
  for (const hierarchy of cgroupHierarchies()) {
    const dir = join(hierarchy, r.cgroup);
    mkdirSync(dir, { recursive: true });
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(join(hierarchy, file))) writeFileSync(join(dir, file), readFileSync(join(hierarchy, file)));
    }
  }
}

/**
 * Moves a process into the run's cgroup in the pids hierarchy, where its children (containerd's shims) follow it:
 * the teardown kills whatever is in there.
 */
export function joinRunCgroup(r: NodeResources, pid: number): void {
  const hierarchy = cgroupHierarchies().find((h) => h.endsWith('/pids')) ?? cgroupHierarchies()[0];
  if (hierarchy !== undefined) appendFileSync(join(hierarchy, r.cgroup, 'cgroup.procs'), `${pid}\n`);
}

/** Starts a daemon of the node: in its network namespace, in the run's cgroup, logging to the run's folder. */
export function startInNode(r: NodeResources, name: string, binary: string, args: string[]): ManagedProcess {
  const [nsenter, ...prefix] = inNodeNetwork(r);
  const proc = new ManagedProcess(name, nsenter!, [...prefix, binary, ...args], join(r.dir, `${name}.log`));
  if (proc.pid > 0) joinRunCgroup(r, proc.pid);
  return proc;
}

