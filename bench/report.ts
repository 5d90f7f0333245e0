// The figures of a bench run, the issue's targets evaluated on them, and the printed tables.
import type { BenchOptions } from './options.js';
import { API_WRITE, type ChangeKind } from './propagation.js';
import type { SelfTime } from './profile.js';

export type QuerySet = 'mix' | 'cluster' | 'outside' | 'demo';
export type Proto = 'udp' | 'tcp';

export interface RunRow {
  /** Services in the cluster, or 'demo'. */
  size: number | 'demo';
  set: QuerySet;
  proto: Proto;
  server: string;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  lost: number;
  completed: number;
  /** VmHWM after the run (the process's peak so far), summed over its processes. */
  peakRssMiB: number;
  /** (utime+stime) of the server over queries completed. */
  cpuUsPerQuery: number;
  /** CPU the rest of the machine used during the run (not the server, not dnsperf), in cores. */
  otherCores: number;
  rcodes: Record<string, number>;
}

export interface LifecycleRow {
  size: number;
  server: string;
  /** Median of the start samples. */
  readyMs: number;
  readySamplesMs: number[];
  rssAtReadyMiB: number;
  /** RSS of the last start after 3 s idle (runs saved before it was measured have none). */
  rssSettledMiB?: number;
  /** VmHWM at the end of its throughput runs. */
  peakRssMiB: number;
}

export interface PropagationRow {
  size: number;
  server: string;
  kind: ChangeKind;
  n: number;
  missed: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface SizeInfo {
  size: number;
  /** Services, slices and namespaces created for this size, and how long it took. */
  created: number;
  generateMs: number;
  /** `cluster-dns zone` for NSD (both zones). */
  zoneMs: number;
  zoneRecords: number;
  /** Lines and distinct questions of each query file. */
  queryFiles: Record<string, { lines: number; distinct: number }>;
}

export interface Machine {
  nproc: number;
  cpuModel: string;
  kernel: string;
  node: string;
  coredns: string;
  nsd: string;
  dnsperf: string;
  loadAverage: string;
  pinning: string;
  /** Node.js flags cluster-dns runs with (from its shebang). */
  nodeFlags?: string;
  /** The commit cluster-dns was built from, when the tree is a git checkout. */
  commit?: string;
}

export interface ProfileSummary {
  size: number;
  file: string;
  /** Busy time sampled (idle left out). */
  totalMs: number;
  idleMs?: number;
  top: SelfTime[];
}

export interface Target {
  goal: string;
  where: string;
  value: string;
  met: boolean;
}

export interface BenchResult {
  options: BenchOptions;
  command: string;
  machine: Machine;
  startedAt: string;
  controlPlaneStartMs: number;
  sizes: SizeInfo[];
  runs: RunRow[];
  lifecycle: LifecycleRow[];
  propagation: PropagationRow[];
  profiles: ProfileSummary[];
  warnings: string[];
  targets: Target[];
  totalSeconds: number;
}

export const CLUSTER_DNS = 'cluster-dns';
export const COREDNS = 'coredns';
export const COREDNS_CACHE30 = 'coredns-cache30';
/** bench --baseline: another build of cluster-dns, measured on the same cluster. */
export const BASELINE = 'cluster-dns-baseline';
export const NSD = 'nsd';

const fmt = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '-');

/** A plain-text table; columns in `right` are right-aligned (numbers). */
function table(header: string[], rows: string[][], right: (column: number) => boolean = () => false): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (right(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Cores the server kept busy during the run: 1.00 on one pinned CPU means it was the bottleneck. */
export const serverCores = (r: RunRow): number => (r.qps * r.cpuUsPerQuery) / 1e6;

const sameGroup = (a: RunRow, b: RunRow): boolean => a.size === b.size && a.set === b.set && a.proto === b.proto;

/** The throughput table: one row per server and run, then the ratio rows of cluster-dns against each other server. */
export function throughputTable(runs: RunRow[]): string {
  const rows: string[][] = [];
  const done = new Set<RunRow>();
  for (const first of runs) {
    if (done.has(first)) continue;
    const group = runs.filter((r) => sameGroup(r, first));
    group.forEach((r) => done.add(r));
    for (const r of group) {
      rows.push([String(r.size), r.set, r.proto, r.server, fmt(r.qps, 0), fmt(r.p50Ms, 3), fmt(r.p99Ms, 3), String(r.lost),
        fmt(r.peakRssMiB, 1), fmt(r.cpuUsPerQuery, 1), fmt(serverCores(r), 2), fmt(r.otherCores, 2)]);
    }
    const ours = group.find((r) => r.server === CLUSTER_DNS);
    if (ours === undefined) continue;
    for (const other of group) {
      if (other === ours) continue;
      rows.push([String(ours.size), ours.set, ours.proto, `${CLUSTER_DNS}/${other.server}`, ratio(ours.qps, other.qps), ratio(ours.p50Ms, other.p50Ms),
        ratio(ours.p99Ms, other.p99Ms), '', ratio(ours.peakRssMiB, other.peakRssMiB), ratio(ours.cpuUsPerQuery, other.cpuUsPerQuery), '', '']);
    }
  }
  return table(['size', 'set', 'proto', 'server', 'QPS', 'p50 ms', 'p99 ms', 'lost', 'peak RSS MiB', 'CPU us/q', 'server CPU', 'other load'], rows, (c) => c >= 4);
}

export function lifecycleTable(lifecycle: LifecycleRow[], propagation: PropagationRow[]): string {
  const rows: string[][] = [];
  const prop = (size: number, server: string, kind: ChangeKind): PropagationRow | undefined =>
    propagation.find((p) => p.size === size && p.server === server && p.kind === kind);
  const propCell = (p: PropagationRow | undefined): [string, string] =>
    p === undefined ? ['-', '-'] : [fmt(p.p50Ms, 1), `${fmt(p.p99Ms, 1)}${p.missed > 0 ? ` (${p.missed} missed)` : ''}`];
  for (const size of [...new Set(lifecycle.map((l) => l.size))]) {
    const group = lifecycle.filter((l) => l.size === size);
    for (const l of group) {
      rows.push([String(size), l.server, fmt(l.readyMs / 1000, 2), fmt(l.rssAtReadyMiB, 1), fmt(l.rssSettledMiB ?? NaN, 1), fmt(l.peakRssMiB, 1),
        ...propCell(prop(size, l.server, 'service-create')), ...propCell(prop(size, l.server, 'slice-change'))]);
    }
    if (propagation.some((p) => p.size === size && p.server === API_WRITE)) {
      rows.push([String(size), `${API_WRITE} (request to response)`, '-', '-', '-', '-',
        ...propCell(prop(size, API_WRITE, 'service-create')), ...propCell(prop(size, API_WRITE, 'slice-change'))]);
    }
    const ours = group.find((l) => l.server === CLUSTER_DNS);
    const core = group.find((l) => l.server === COREDNS);
    if (ours !== undefined && core !== undefined) {
      const pr = (kind: ChangeKind, k: 'p50Ms' | 'p99Ms'): string => ratio(prop(size, CLUSTER_DNS, kind)?.[k] ?? NaN, prop(size, COREDNS, kind)?.[k] ?? NaN);
      rows.push([String(size), `${CLUSTER_DNS}/${COREDNS}`, ratio(ours.readyMs, core.readyMs), ratio(ours.rssAtReadyMiB, core.rssAtReadyMiB),
        ratio(ours.rssSettledMiB ?? NaN, core.rssSettledMiB ?? NaN), ratio(ours.peakRssMiB, core.peakRssMiB), pr('service-create', 'p50Ms'), pr('service-create', 'p99Ms'), pr('slice-change', 'p50Ms'), pr('slice-change', 'p99Ms')]);
    }
  }
  return table(['size', 'server', 'ready s', 'RSS at ready MiB', 'RSS 3 s later MiB', 'peak RSS MiB', 'svc create p50 ms', 'p99 ms', 'slice change p50 ms', 'p99 ms'], rows, (c) => c >= 2);
}

/** The issue's targets, each with the figures it was judged on. */
export function evaluateTargets(r: Pick<BenchResult, 'runs' | 'lifecycle' | 'propagation'>): Target[] {
  const targets: Target[] = [];
  const run = (size: number | 'demo', set: QuerySet, proto: Proto, server: string): RunRow | undefined =>
    r.runs.find((x) => x.size === size && x.set === set && x.proto === proto && x.server === server);
  const sizes = [...new Set(r.runs.map((x) => x.size).filter((s): s is number => s !== 'demo'))];
  const qpsRatio = (goal: string, set: QuerySet, min: number, other: string): void => {
    for (const size of [...sizes, 'demo' as const]) {
      for (const proto of ['udp', 'tcp'] as const) {
        const ours = run(size, set, proto, CLUSTER_DNS);
        const ref = run(size, set, proto, other);
        if (ours === undefined || ref === undefined) continue;
        const x = ours.qps / ref.qps;
        targets.push({ goal, where: `${size} ${set} ${proto}`, value: `${fmt(ours.qps, 0)} vs ${fmt(ref.qps, 0)} = ${x.toFixed(3)}x`, met: x >= min });
      }
    }
  };
  qpsRatio('QPS >= 1.2x CoreDNS, cluster names', 'cluster', 1.2, COREDNS);
  qpsRatio('QPS >= 1.2x CoreDNS, cache hits', 'outside', 1.2, COREDNS);
  for (const ours of r.runs.filter((x) => x.server === CLUSTER_DNS)) {
    const ref = run(ours.size, ours.set, ours.proto, COREDNS);
    if (ref === undefined) continue;
    targets.push({ goal: 'p99 <= CoreDNS', where: `${ours.size} ${ours.set} ${ours.proto}`,
      value: `${fmt(ours.p99Ms, 3)} vs ${fmt(ref.p99Ms, 3)} ms = ${(ours.p99Ms / ref.p99Ms).toFixed(3)}x`, met: ours.p99Ms <= ref.p99Ms });
  }
  const rssSize = sizes.includes(10_000) ? 10_000 : Math.max(...sizes);
  if (Number.isFinite(rssSize)) {
    const ours = r.lifecycle.find((l) => l.size === rssSize && l.server === CLUSTER_DNS);
    const ref = r.lifecycle.find((l) => l.size === rssSize && l.server === COREDNS);
    if (ours !== undefined && ref !== undefined) {
      const where = rssSize === 10_000 ? '10000' : `${rssSize} (no 10000 in this run)`;
      targets.push({ goal: 'RSS <= CoreDNS at 10k Services (peak)', where, value: `${fmt(ours.peakRssMiB, 1)} vs ${fmt(ref.peakRssMiB, 1)} MiB = ${(ours.peakRssMiB / ref.peakRssMiB).toFixed(3)}x`, met: ours.peakRssMiB <= ref.peakRssMiB });
      targets.push({ goal: 'RSS <= CoreDNS at 10k Services (at ready)', where, value: `${fmt(ours.rssAtReadyMiB, 1)} vs ${fmt(ref.rssAtReadyMiB, 1)} MiB = ${(ours.rssAtReadyMiB / ref.rssAtReadyMiB).toFixed(3)}x`, met: ours.rssAtReadyMiB <= ref.rssAtReadyMiB });
      if (ours.rssSettledMiB !== undefined && ref.rssSettledMiB !== undefined) {
        targets.push({ goal: 'RSS <= CoreDNS at 10k Services (3 s after ready)', where, value: `${fmt(ours.rssSettledMiB, 1)} vs ${fmt(ref.rssSettledMiB, 1)} MiB = ${(ours.rssSettledMiB / ref.rssSettledMiB).toFixed(3)}x`, met: ours.rssSettledMiB <= ref.rssSettledMiB });
      }
    }
  }
  for (const size of sizes) {
    const ours = r.lifecycle.find((l) => l.size === size && l.server === CLUSTER_DNS);
    const ref = r.lifecycle.find((l) => l.size === size && l.server === COREDNS);
    if (ours === undefined || ref === undefined) continue;
    targets.push({ goal: 'time to ready <= CoreDNS', where: String(size), value: `${fmt(ours.readyMs / 1000, 2)} vs ${fmt(ref.readyMs / 1000, 2)} s = ${(ours.readyMs / ref.readyMs).toFixed(3)}x`, met: ours.readyMs <= ref.readyMs });
  }
  for (const p of r.propagation.filter((x) => x.server === CLUSTER_DNS)) {
    const api = r.propagation.find((x) => x.size === p.size && x.kind === p.kind && x.server === API_WRITE);
    const apiNote = api === undefined ? '' : ` (API write itself: p99 ${fmt(api.p99Ms, 1)} ms)`;
    targets.push({ goal: 'propagation p99 <= 100 ms', where: `${p.size} ${p.kind}`, value: `${fmt(p.p99Ms, 1)} ms${apiNote}${p.missed > 0 ? `, ${p.missed} not seen in 10 s` : ''}`, met: p.missed === 0 && p.p99Ms <= 100 });
  }
  for (const size of [...sizes, 'demo' as const]) {
    const set: QuerySet = size === 'demo' ? 'demo' : 'cluster';
    const ours = run(size, set, 'udp', CLUSTER_DNS);
    const ref = run(size, set, 'udp', NSD);
    if (ours === undefined || ref === undefined) continue;
    const x = ours.qps / ref.qps;
    targets.push({ goal: 'QPS >= 0.4x NSD (UDP)', where: `${size} ${set} udp`, value: `${fmt(ours.qps, 0)} vs ${fmt(ref.qps, 0)} = ${x.toFixed(3)}x`, met: x >= 0.4 });
  }
  return targets;
}

export function targetsTable(targets: Target[]): string {
  return table(['target', 'where', 'figures (cluster-dns vs reference)', 'result'], targets.map((t) => [t.goal, t.where, t.value, t.met ? 'MET' : 'MISSED']));
}

export function formatReport(r: BenchResult): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`cluster-dns bench: ${r.command}`);
  out.push(`machine: ${m.nproc} CPUs (${m.cpuModel}), Linux ${m.kernel}, load average at start ${m.loadAverage}`);
  out.push(`versions: node ${m.node}, CoreDNS ${m.coredns}, NSD ${m.nsd}, dnsperf ${m.dnsperf}`);
  out.push(`pinning: ${m.pinning}`);
  if (m.nodeFlags !== undefined || m.commit !== undefined) {
    out.push(`cluster-dns: ${m.commit === undefined ? '' : `commit ${m.commit}, `}node ${m.nodeFlags === undefined || m.nodeFlags === '' ? '' : `${m.nodeFlags} `}dist/src/cli.js serve --ttl ${r.options.ttl} …`);
  }
  const o = r.options;
  out.push(`dnsperf: -c ${o.clients} -q ${o.outstanding} -l ${o.duration} (warm-up ${o.warmup} s, best of ${o.repeat}); TTL ${o.ttl} for every server; ` +
    `query files of ${o.lines} lines`);
  out.push(`control plane started in ${fmt(r.controlPlaneStartMs / 1000, 1)} s`);
  for (const s of r.sizes) {
    out.push(`size ${s.size}: created ${s.created} objects in ${fmt(s.generateMs / 1000, 1)} s (${fmt(s.created / (s.generateMs / 1000), 0)}/s); ` +
      `cluster-dns zone for NSD: ${s.zoneRecords} records in ${fmt(s.zoneMs / 1000, 1)} s; query files (lines/distinct questions): ` +
      Object.entries(s.queryFiles ?? {}).map(([name, f]) => `${name} ${f.lines}/${f.distinct}`).join(', '));
  }
  out.push('', 'Throughput (dnsperf; ratio rows are cluster-dns divided by the other server; "server CPU" is the cores the server kept busy, ' +
    '"other load" the cores the rest of the machine used during the run, dnsperf excepted)', '');
  out.push(throughputTable(r.runs));
  if (r.lifecycle.length > 0) {
    out.push('', 'Start, memory and propagation (ready: spawn to /ready 200, median of the starts; propagation: API request sent to first answer carrying it)', '');
    out.push(lifecycleTable(r.lifecycle, r.propagation));
  }
  for (const p of r.profiles) {
    out.push('', `cluster-dns CPU profile at ${p.size} Services, its whole life (${p.file}): ${fmt(p.totalMs / 1000, 1)} s busy` +
      `${p.idleMs === undefined ? '' : `, ${fmt(p.idleMs / 1000, 1)} s idle`}; top self time, shares of busy time`, '');
    out.push(table(['self ms', 'share', 'function', 'where'], p.top.map((t) => [fmt(t.ms, 0), `${(t.share * 100).toFixed(1)}%`, t.fn, t.where]), (c) => c < 2));
  }
  out.push('', 'Targets (issue #8; a benchmark reports, it does not fail)', '');
  out.push(targetsTable(r.targets));
  if (r.warnings.length > 0) out.push('', 'Warnings:', ...r.warnings.map((w) => `- ${w}`));
  out.push('', `total ${fmt(r.totalSeconds, 0)} s`);
  return `${out.join('\n')}\n`;
}
