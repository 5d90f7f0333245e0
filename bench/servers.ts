// The servers under test, each a separate process on loopback, optionally pinned to a CPU with taskset:
// cluster-dns (`node dist/src/cli.js serve`), CoreDNS with kubeadm's Corefile, and NSD (the C ceiling, and the
// local upstream that serves the outside names). Each start reports how long it took to become ready.
import { writeNsdConfig } from '../test/helpers/nsd.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { binaryPath } from '../test/cluster/binaries.js';
import { freePort, onFreePorts } from '../test/cluster/ports.js';
import { get } from '../test/cluster/probe.js';
import { ManagedProcess } from '../test/cluster/process.js';
import { askOnce, TYPE } from './dns-poll.js';
import { processTree, rssMiB } from './procfs.js';

export type ServerKind = 'cluster-dns' | 'coredns' | 'nsd';

export interface Server {
  kind: ServerKind;
  /** A label for tables ("cluster-dns", "coredns", "nsd", "coredns-cache30"). */
  label: string;
  port: number;
  pid: number;
  /** From spawn to /ready 200 (cluster-dns, CoreDNS) or to the first SOA answer (NSD), in ms. */
  readyMs: number;
  /** Resident memory right when it became ready. */
  rssAtReadyMiB: number;
  logPath: string;
  /** The process and its descendants (NSD forks its server). */
  pids(): number[];
  stop(): Promise<void>;
}

/** Where compiled cluster-dns lives relative to dist/bench/. */
export const CLI_PATH = fileURLToPath(new URL('../src/cli.js', import.meta.url));
export const NSD_PATH = existsSync('/usr/sbin/nsd') ? '/usr/sbin/nsd' : 'nsd';

/**
 * The node flags in the CLI's shebang (`#!/usr/bin/env -S node --flag …`): `npx cluster-dns` and the image
 * (NODE_OPTIONS) run with them, so the bench does too.
 */
export function shebangNodeFlags(path = CLI_PATH): string[] {
  const first = readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env -S node\s+(.*)$/.exec(first);
  return m === null ? [] : m[1]!.trim().split(/\s+/);
}

function pinned(cpus: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
}

async function httpReady(url: string): Promise<boolean> {
  try {
    return (await get(url, {}, 1000)).status === 200;
  } catch {
    return false;
  }
}

/** Polls `ready` every `everyMs` until true; throws if the process exits or after timeoutMs. */
async function waitFor(proc: ManagedProcess, what: string, timeoutMs: number, everyMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (proc.exit !== undefined) throw new Error(`${what} ${proc.describeExit()} before becoming ready (log: ${proc.logPath}):\n${proc.readLog().slice(-800)}`);
    if (await ready()) return;
    if (performance.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs / 1000} s (log: ${proc.logPath})`);
    await sleep(everyMs);
  }
}

async function started(
  kind: ServerKind,
  label: string,
  port: number,
  proc: ManagedProcess,
  t0: number,
  ready: () => Promise<boolean>,
  timeoutMs: number,
  stopTimeoutMs: number,
): Promise<Server> {
  try {
    await waitFor(proc, label, timeoutMs, 10, ready);
  } catch (err) {
    await proc.stop(1000);
    throw err;
  }
  const readyMs = performance.now() - t0;
  const pids = (): number[] => processTree(proc.pid);
  return { kind, label, port, pid: proc.pid, readyMs, rssAtReadyMiB: rssMiB(pids()), logPath: proc.logPath, pids, stop: () => proc.stop(stopTimeoutMs) };
}

export interface ClusterDnsOptions {
  dir: string;
  /** --kubeconfig, or --manifests when `manifests` is set. */
  kubeconfig?: string;
  manifests?: string;
  upstreamPort?: number;
  ttl: number;
  cpus?: string;
  /** A folder for `node --cpu-prof`. */
  cpuProfDir?: string;
  label?: string;
  timeoutMs?: number;
  /** Another build's dist/src/cli.js (bench --baseline); its own shebang flags are used. */
  cli?: string;
}

export function startClusterDns(o: ClusterDnsOptions): Promise<Server> {
  return onFreePorts(() => startClusterDnsOnce(o));
}

async function startClusterDnsOnce(o: ClusterDnsOptions): Promise<Server> {
  const [port, metrics, health, readyPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const label = o.label ?? 'cluster-dns';
  const args = [
    ...shebangNodeFlags(o.cli ?? CLI_PATH),
    ...(o.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir]),
    o.cli ?? CLI_PATH, 'serve',
    ...(o.manifests !== undefined ? ['--manifests', o.manifests] : ['--kubeconfig', o.kubeconfig!]),
    '--dns-addr', `127.0.0.1:${port}`,
    ...(o.upstreamPort === undefined ? ['--no-forward'] : ['--upstream', `127.0.0.1:${o.upstreamPort}`]),
    '--ttl', String(o.ttl),
    '--metrics-addr', `127.0.0.1:${metrics}`, '--health-addr', `127.0.0.1:${health}`, '--ready-addr', `127.0.0.1:${readyPort}`,
    '--lameduck', '0', // the bench stops it at once (and a --cpu-prof profile is written on exit)
  ];
  const [cmd, argv] = pinned(o.cpus, process.execPath, args);
  const t0 = performance.now();
  const proc = new ManagedProcess(label, cmd, argv, join(o.dir, `${label}-${port}.log`));
  return started('cluster-dns', label, port, proc, t0, () => httpReady(`http://127.0.0.1:${readyPort}/ready`), o.timeoutMs ?? 300_000, 10_000);
}

export interface CoreDnsOptions {
  dir: string;
  kubeconfig: string;
  upstreamPort: number;
  ttl: number;
  cpus?: string;
  /** kubeadm ≤ 1.31's plain `cache 30`, which also caches cluster answers (v1.32+ disables that for the zone). */
  cacheClusterZone?: boolean;
  label?: string;
  timeoutMs?: number;
}

/** kubeadm v1.35's Corefile (cmd/kubeadm/app/phases/addons/dns/manifests.go) on loopback ports. */
export function kubeadmCorefile(o: { port: number; health: number; ready: number; metrics: number; kubeconfig: string; upstreamPort: number; ttl: number; cacheClusterZone?: boolean }): string {
  return [
    `.:${o.port} {`,
    '    bind 127.0.0.1',
    '    errors',
    `    health 127.0.0.1:${o.health} {`,
    '       lameduck 5s',
    '    }',
    `    ready 127.0.0.1:${o.ready}`,
    '    kubernetes cluster.local in-addr.arpa ip6.arpa {',
    `       kubeconfig ${o.kubeconfig}`,
    '       pods insecure',
    '       fallthrough in-addr.arpa ip6.arpa',
    `       ttl ${o.ttl}`,
    '    }',
    `    prometheus 127.0.0.1:${o.metrics}`,
    `    forward . 127.0.0.1:${o.upstreamPort} {`,
    '       max_concurrent 1000',
    '    }',
    ...(o.cacheClusterZone
      ? ['    cache 30']
      : ['    cache 30 {', '       disable success cluster.local', '       disable denial cluster.local', '    }']),
    '    loop',
    '    reload',
    '    loadbalance',
    '}',
    '',
  ].join('\n');
}

export function startCoreDns(o: CoreDnsOptions): Promise<Server> {
  return onFreePorts(() => startCoreDnsOnce(o));
}

async function startCoreDnsOnce(o: CoreDnsOptions): Promise<Server> {
  const [port, health, readyPort, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const label = o.label ?? 'coredns';
  const corefile = join(o.dir, `Corefile-${port}`);
  writeFileSync(corefile, kubeadmCorefile({ port, health, ready: readyPort, metrics, kubeconfig: o.kubeconfig, upstreamPort: o.upstreamPort, ttl: o.ttl, cacheClusterZone: o.cacheClusterZone }));
  const [cmd, argv] = pinned(o.cpus, binaryPath('coredns'), ['-conf', corefile]);
  const t0 = performance.now();
  const proc = new ManagedProcess(label, cmd, argv, join(o.dir, `${label}-${port}.log`));
  // lameduck 5s would hold every stop for 5 s; after 1 s it is killed.
  return started('coredns', label, port, proc, t0, () => httpReady(`http://127.0.0.1:${readyPort}/ready`), o.timeoutMs ?? 300_000, 1000);
}

/** NSD with `server-count: 1` and rate limiting off, serving the given zone texts. */
export function startNsd(o: NsdOptions): Promise<Server> {
  return onFreePorts(() => startNsdOnce(o));
}

interface NsdOptions {
  dir: string;
  label: string;
  zones: Record<string, string>;
  cpus?: string;
  timeoutMs?: number;
}

async function startNsdOnce(o: NsdOptions): Promise<Server> {
  const port = await freePort();
  const dir = join(o.dir, `${o.label}-${port}`);
  mkdirSync(dir, { recursive: true });
  writeNsdConfig(dir, port, o.zones);
  const [cmd, argv] = pinned(o.cpus, NSD_PATH, ['-d', '-c', join(dir, 'nsd.conf')]);
  const t0 = performance.now();
  const proc = new ManagedProcess(o.label, cmd, argv, join(dir, 'nsd.out'));
  const first = Object.keys(o.zones)[0]!;
  return started('nsd', o.label, port, proc, t0, async () => (await askOnce(port, first, TYPE.SOA, 200))?.rcode === 0, o.timeoutMs ?? 300_000, 5000);
}
