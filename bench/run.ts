// One bench run: the demo state against NSD, then per cluster size: grow the generated cluster, NSD on the zone
// files `cluster-dns zone` prints, cluster-dns, CoreDNS (each alone, each started `readySamples` times for time
// to ready), both together for propagation, and optionally CoreDNS with the old plain `cache 30`.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { binaryPath, controlPlaneBinaries } from '../test/cluster/binaries.js';
import { startControlPlane, type ControlPlane } from '../test/cluster/control-plane.js';
import { trackTempDir, untrackTempDir } from '../test/cluster/process.js';
import { Api } from './api.js';
import { checkServer, compareRcodes } from './checks.js';
import { percentile, runDnsperf } from './dnsperf.js';
import { type GeneratedCluster, growCluster } from './generate.js';
import type { BenchOptions } from './options.js';
import { newestProfile, topSelfTime } from './profile.js';
import { allowedCpus, cpuSeconds, machineBusySeconds, peakRssMiB, pinProcess, reapedChildrenCpuSeconds, rssMiB } from './procfs.js';
import { measurePropagation } from './propagation.js';
import { buildQueryFiles, demoQueries, OUTSIDE_ZONE, outsideZone } from './queries.js';
import {
  BASELINE, type BenchResult, COREDNS_CACHE30, evaluateTargets, type LifecycleRow, type Machine, NSD,
  type PropagationRow, type Proto, type QuerySet, type RunRow, type SizeInfo,
} from './report.js';
import { CLI_PATH, NSD_PATH, type Server, shebangNodeFlags, startClusterDns, startCoreDns, startNsd } from './servers.js';

const execFileP = promisify(execFile);
const EXAMPLES = fileURLToPath(new URL('../../examples', import.meta.url));
const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);

function version(cmd: string, args: string[], match: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return match.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? 'unknown';
}

/** The checkout's commit, with "+changes" when the working tree differs from it; undefined outside git. */
function gitCommit(): string | undefined {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const head = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  if (head.status !== 0) return undefined;
  const dirty = spawnSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no', '--', 'src'], { encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() === '' ? '' : ' + uncommitted changes in src/'}`;
}

function machine(nproc: number, pinning: string): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    kernel: release(),
    node: process.version,
    coredns: version(binaryPath('coredns'), ['-version'], /CoreDNS-(\S+)/),
    nsd: version(NSD_PATH, ['-v'], /NSD version (\S+)/),
    dnsperf: version('dnsperf', ['-h'], /Version (\S+)/),
    loadAverage: loadavg().map((l) => l.toFixed(2)).join(' '),
    pinning,
    nodeFlags: shebangNodeFlags().join(' '),
    commit: gitCommit(),
  };
}

function checkPrerequisites(o: BenchOptions): void {
  const missing: string[] = [];
  const onPath = (cmd: string): boolean => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (!onPath('dnsperf')) missing.push('dnsperf (Debian package dnsperf)');
  if (!existsSync(NSD_PATH) && !onPath('nsd')) missing.push('nsd (Debian package nsd)');
  if (o.pin && !onPath('taskset')) missing.push('taskset (util-linux), or run with --no-pin');
  if (!existsSync(CLI_PATH)) missing.push(`${CLI_PATH} (npx tsc -p .)`);
  if (missing.length > 0) throw new Error(`bench: missing ${missing.join(', ')}; \`bash test/setup.sh\` installs the packages and binaries`);
  binaryPath('coredns'); // each throws one line naming the binary and how to build it
  controlPlaneBinaries();
}

async function zoneText(args: string[]): Promise<string> {
  const { stdout } = await execFileP(process.execPath, [CLI_PATH, 'zone', ...args, '--log-level', 'error'], { maxBuffer: 1 << 30 });
  return stdout;
}

const countRecords = (text: string): number => text.split('\n').filter((l) => l !== '' && !l.startsWith(';') && !l.startsWith('$')).length;

class Bench {
  readonly runs: RunRow[] = [];
  readonly lifecycle: LifecycleRow[] = [];
  readonly propagation: PropagationRow[] = [];
  readonly sizes: SizeInfo[] = [];
  readonly profiles: BenchResult['profiles'] = [];
  readonly warnings: string[] = [];
  /** CPUs for dnsperf, pollers and helpers, and for the server under test; undefined = unpinned. */
  loadCpus: string | undefined;
  serverCpus: string | undefined;
  private fileCount = 0;

  constructor(readonly o: BenchOptions, readonly dir: string, readonly log: (line: string) => void) {}

  writeQueries(name: string, lines: string[]): string {
    const file = join(this.dir, `queries-${name}.txt`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  }

  /** One measurement: dnsperf against a server, with the server's CPU and memory and the rest of the machine's load. */
  async measure(server: Server, size: number | 'demo', set: QuerySet, proto: Proto, file: string): Promise<RunRow> {
    let best: RunRow | undefined;
    for (let k = 0; k < this.o.repeat; k++) {
      const pids = server.pids();
      const cpu0 = cpuSeconds(pids);
      const busy0 = machineBusySeconds();
      const kids0 = reapedChildrenCpuSeconds();
      const t0 = performance.now();
      let cpu1 = 0;
      let busy1 = 0;
      let kids1 = 0;
      let wall = 0;
      const d = await runDnsperf({
        port: server.port, queryFile: file, seconds: this.o.duration, tcp: proto === 'tcp', clients: this.o.clients,
        outstanding: this.o.outstanding, cpus: this.loadCpus, outFile: join(this.dir, `dnsperf-${this.fileCount++}.out`),
        afterExit: () => {
          cpu1 = cpuSeconds(pids);
          busy1 = machineBusySeconds();
          kids1 = reapedChildrenCpuSeconds();
          wall = (performance.now() - t0) / 1000;
        },
      });
      const serverCpu = cpu1 - cpu0;
      const row: RunRow = {
        size, set, proto, server: server.label, qps: d.qps, p50Ms: d.p50Ms, p99Ms: d.p99Ms, lost: d.lost, completed: d.completed,
        peakRssMiB: peakRssMiB(server.pids()), cpuUsPerQuery: d.completed > 0 ? (serverCpu * 1e6) / d.completed : NaN,
        otherCores: Math.max(0, busy1 - busy0 - serverCpu - (kids1 - kids0)) / wall, rcodes: d.rcodes,
      };
      if (best === undefined || row.qps > best.qps) best = row;
    }
    const r = best!;
    this.log(`  ${String(size).padStart(5)} ${set.padEnd(7)} ${proto} ${server.label.padEnd(15)} ${r.qps.toFixed(0).padStart(7)} QPS  p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms  lost ${r.lost}  ${r.cpuUsPerQuery.toFixed(1)} us/q  other load ${r.otherCores.toFixed(2)}`);
    this.runs.push(r);
    return r;
  }

  /** Warm-up (unrecorded), then each protocol, for each query file. */
  async measureSets(server: Server, size: number | 'demo', sets: Array<[QuerySet, string]>, protos: Proto[]): Promise<void> {
    for (const [set, file] of sets) {
      if (this.o.warmup > 0) {
        await runDnsperf({ port: server.port, queryFile: file, seconds: this.o.warmup, tcp: false, clients: this.o.clients,
          outstanding: this.o.outstanding, cpus: this.loadCpus, outFile: join(this.dir, `warmup-${this.fileCount++}.out`) });
      }
      for (const proto of protos) await this.measure(server, size, set, proto, file);
    }
  }

  /** Starts a server `readySamples` times (stopping all but the last), keeping the median time to ready and RSS. */
  async startSampled(start: () => Promise<Server>, size: number): Promise<{ server: Server; row: LifecycleRow }> {
    const times: number[] = [];
    const rss: number[] = [];
    let server: Server | undefined;
    for (let k = 0; k < this.o.readySamples; k++) {
      if (server !== undefined) await server.stop();
      server = await start();
      times.push(server.readyMs);
      rss.push(server.rssAtReadyMiB);
    }
    // Ready is not the end of start-up for every server (cluster-dns builds its record index after it, then
    // collects): RSS again once the last start has been idle a while.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const settled = rssMiB(server!.pids());
    const row: LifecycleRow = { size, server: server!.label, readyMs: median(times), readySamplesMs: times, rssAtReadyMiB: median(rss), rssSettledMiB: settled, peakRssMiB: NaN };
    this.log(`  ${server!.label}: ready in ${times.map((t) => (t / 1000).toFixed(2)).join(', ')} s; RSS at ready ${row.rssAtReadyMiB.toFixed(1)} MiB, ${settled.toFixed(1)} MiB ${SETTLE_MS / 1000} s later`);
    return { server: server!, row };
  }
}

/** How long a started server is left idle before its settled RSS is read. */
const SETTLE_MS = 3000;

export async function runBench(o: BenchOptions, log: (line: string) => void, command = 'npm run bench'): Promise<BenchResult> {
  const began = performance.now();
  checkPrerequisites(o);
  const dir = mkdtempSync(join(tmpdir(), 'cluster-dns-bench-'));
  if (!o.keep) trackTempDir(dir);
  const bench = new Bench(o, dir, log);
  const ownCpus = allowedCpus();
  const nproc = availableParallelism();
  const pin = o.pin && nproc >= 2;
  if (pin) {
    bench.loadCpus = '0';
    bench.serverCpus = '1';
    pinProcess(process.pid, '0');
  }
  const pinning = pin
    ? 'taskset: the server under test alone on CPU 1; dnsperf, the bench (pollers), the upstream NSD and, while measuring, the control plane on CPU 0'
    : o.pin ? 'none (fewer than 2 CPUs)' : 'none (--no-pin)';
  const result: BenchResult = {
    options: o, command, machine: machine(nproc, pinning), startedAt: new Date().toISOString(), controlPlaneStartMs: NaN,
    sizes: bench.sizes, runs: bench.runs, lifecycle: bench.lifecycle, propagation: bench.propagation, profiles: bench.profiles,
    warnings: bench.warnings, targets: [], totalSeconds: NaN,
  };
  log(`bench: work folder ${dir}${o.keep ? ' (kept)' : ''}; ${pinning}`);
  const running = new Set<Server>();
  const track = (s: Server): Server => {
    running.add(s);
    const stop = s.stop;
    s.stop = async () => {
      running.delete(s);
      await stop();
    };
    return s;
  };
  let cp: ControlPlane | undefined;
  let api: Api | undefined;
  try {
    const upstream = track(await startNsd({ dir, label: 'nsd-upstream', zones: { [OUTSIDE_ZONE]: outsideZone() }, cpus: bench.loadCpus }));

    if (o.demo) {
      log('demo state: cluster-dns --manifests examples vs NSD on its zone files (UDP)');
      const fwd = await zoneText(['--manifests', EXAMPLES, '--ttl', String(o.ttl)]);
      const rev = await zoneText(['--manifests', EXAMPLES, '--ttl', String(o.ttl), '--origin', 'in-addr.arpa']);
      const file = bench.writeQueries('demo', demoQueries(fwd, rev, Math.min(o.lines, 10_000)));
      const nsd = track(await startNsd({ dir, label: NSD, zones: { 'cluster.local': fwd, 'in-addr.arpa': rev }, cpus: bench.serverCpus }));
      await bench.measureSets(nsd, 'demo', [['demo', file]], ['udp']);
      await nsd.stop();
      const cd = track(await startClusterDns({ dir, manifests: EXAMPLES, ttl: o.ttl, cpus: bench.serverCpus }));
      await bench.measureSets(cd, 'demo', [['demo', file]], ['udp']);
      await cd.stop();
    }

    const cpStart = performance.now();
    cp = await startControlPlane();
    result.controlPlaneStartMs = performance.now() - cpStart;
    log(`control plane ready in ${(result.controlPlaneStartMs / 1000).toFixed(1)} s (${cp.server})`);
    api = new Api(cp);
    const cluster: GeneratedCluster = { services: [], namespaces: [] };
    const kubeconfig = cp.kubeconfigPath;
    const cpPids = Object.values(cp.pids);

    for (const size of o.sizes) {
      log(`size ${size}:`);
      if (pin) for (const pid of cpPids) pinProcess(pid, ownCpus); // both CPUs to create objects fast
      const before = { services: cluster.services.length, namespaces: cluster.namespaces.length };
      const t0 = performance.now();
      await growCluster(api, cluster, size);
      const generateMs = performance.now() - t0;
      const created = (cluster.services.length - before.services) * 2 + (cluster.namespaces.length - before.namespaces);
      log(`  created ${created} objects (Services, EndpointSlices, namespaces) in ${(generateMs / 1000).toFixed(1)} s`);
      if (pin) for (const pid of cpPids) pinProcess(pid, bench.loadCpus!);

      const services = cluster.services.slice(0, size);
      const q = buildQueryFiles(services, o.lines);
      const files = { mix: bench.writeQueries(`${size}-mix`, q.mix), cluster: bench.writeQueries(`${size}-cluster`, q.cluster), outside: bench.writeQueries(`${size}-outside`, q.outside) };

      const z0 = performance.now();
      const [fwd, rev] = o.nsd
        ? await Promise.all([
          zoneText(['--kubeconfig', kubeconfig, '--ttl', String(o.ttl)]),
          zoneText(['--kubeconfig', kubeconfig, '--ttl', String(o.ttl), '--origin', 'in-addr.arpa']),
        ])
        : ['', ''];
      const queryFiles = Object.fromEntries(Object.entries(q).map(([name, lines]) => [name, { lines: lines.length, distinct: new Set(lines).size }]));
      const info: SizeInfo = { size, created, generateMs, zoneMs: performance.now() - z0, zoneRecords: countRecords(fwd) + countRecords(rev), queryFiles };
      bench.sizes.push(info);

      if (o.nsd) {
        const nsd = track(await startNsd({ dir, label: NSD, zones: { 'cluster.local': fwd, 'in-addr.arpa': rev }, cpus: bench.serverCpus }));
        await checkServer(nsd, services, false, bench.warnings);
        await bench.measureSets(nsd, size, [['cluster', files.cluster]], ['udp', 'tcp']);
        await nsd.stop();
      }

      const sets: Array<[QuerySet, string]> = [['cluster', files.cluster], ['outside', files.outside], ['mix', files.mix]];
      const startCd = (profile: boolean): Promise<Server> =>
        startClusterDns({ dir, kubeconfig, upstreamPort: upstream.port, ttl: o.ttl, cpus: bench.serverCpus, ...(profile && o.profile !== undefined ? { cpuProfDir: o.profile } : {}) }).then(track);
      let samples = 0;
      const cd = await bench.startSampled(() => startCd(++samples === o.readySamples), size);
      await checkServer(cd.server, services, true, bench.warnings);
      await bench.measureSets(cd.server, size, sets, ['udp', 'tcp']);
      cd.row.peakRssMiB = peakRssMiB(cd.server.pids());
      bench.lifecycle.push(cd.row);
      await cd.server.stop();
      if (o.profile !== undefined) {
        const file = newestProfile(o.profile);
        if (file !== undefined) bench.profiles.push({ size, file, ...topSelfTime(file, 25) });
      }

      if (o.baseline !== undefined) {
        const cli = join(o.baseline, 'dist', 'src', 'cli.js');
        const base = await bench.startSampled(() => startClusterDns({ dir, kubeconfig, upstreamPort: upstream.port, ttl: o.ttl, cpus: bench.serverCpus, cli, label: BASELINE }).then(track), size);
        await checkServer(base.server, services, true, bench.warnings);
        await bench.measureSets(base.server, size, sets, ['udp', 'tcp']);
        base.row.peakRssMiB = peakRssMiB(base.server.pids());
        bench.lifecycle.push(base.row);
        await base.server.stop();
      }

      const startCore = (): Promise<Server> => startCoreDns({ dir, kubeconfig, upstreamPort: upstream.port, ttl: o.ttl, cpus: bench.serverCpus }).then(track);
      const core = await bench.startSampled(startCore, size);
      await checkServer(core.server, services, true, bench.warnings);
      await bench.measureSets(core.server, size, sets, ['udp', 'tcp']);
      core.row.peakRssMiB = peakRssMiB(core.server.pids());
      bench.lifecycle.push(core.row);

      log(`  propagation: ${o.changes} Service creates and ${o.changes} EndpointSlice changes, both servers polled`);
      const cd2 = await startCd(false);
      const headless = services.filter((s) => s.headless);
      const samplesByServer = await measurePropagation(api, [cd2, core.server], headless, o.changes, String(size));
      for (const s of samplesByServer) {
        const sorted = [...s.samples].sort((a, b) => a - b);
        const row: PropagationRow = { size, server: s.label, kind: s.kind, n: s.samples.length, missed: s.missed,
          p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted[sorted.length - 1] ?? NaN };
        bench.propagation.push(row);
        log(`  ${s.label} ${s.kind}: p50 ${row.p50Ms.toFixed(1)} ms, p99 ${row.p99Ms.toFixed(1)} ms, max ${row.maxMs.toFixed(1)} ms${s.missed > 0 ? `, ${s.missed} not seen` : ''}`);
      }
      await Promise.all([cd2.stop(), core.server.stop()]);

      if (o.cache30) {
        const c30 = track(await startCoreDns({ dir, kubeconfig, upstreamPort: upstream.port, ttl: o.ttl, cpus: bench.serverCpus, cacheClusterZone: true, label: COREDNS_CACHE30 }));
        await checkServer(c30, services, true, bench.warnings);
        await bench.measureSets(c30, size, [['cluster', files.cluster], ['mix', files.mix]], ['udp']);
        await c30.stop();
      }
    }
  } finally {
    await Promise.all([...running].map((s) => s.stop().catch(() => undefined)));
    api?.close();
    await cp?.stop();
    if (pin) pinProcess(process.pid, ownCpus);
    if (!o.keep) {
      rmSync(dir, { recursive: true, force: true });
      untrackTempDir(dir);
    }
  }
  compareRcodes(bench.runs, bench.warnings);
  if (o.profile !== undefined) bench.warnings.push(`--profile: cluster-dns ran under node --cpu-prof for its throughput runs; its figures include the profiler's cost`);
  result.targets = evaluateTargets(result);
  result.totalSeconds = (performance.now() - began) / 1000;
  return result;
}

