// dnsperf query files ("name TYPE" per line), the same for every server. The mix, by share of lines:
//   25 % A of a ClusterIP Service            15 % AAAA of a ClusterIP Service (NODATA: IPv4-only cluster)
//    5 % SRV _http._tcp of a Service         10 % A of a headless Service (10 endpoints)
//   25 % search-path misses (NXDOMAIN)        5 % PTR of a cluster IP or an endpoint address
//   15 % outside names (www<k>.example.test, served by the local upstream: cache hits)
// Search-path misses are what ndots:5 makes of an outside name or of a short cluster name asked from another
// namespace: www3.example.test.bench-4.svc.cluster.local, www3.example.test.svc.cluster.local,
// www3.example.test.cluster.local, svc-12.bench-0.bench-4.svc.cluster.local (A or AAAA).
// Names are drawn uniformly over the cluster with a fixed seed, so a file is the same on every run.
import { rng } from '../test/helpers/rng.js';
import type { GenService } from './generate.js';
import { PORT_NAME } from './generate.js';

export const OUTSIDE_ZONE = 'example.test';
export const OUTSIDE_NAMES = 200;
export const ZONE = 'cluster.local';

export type Category = 'A' | 'AAAA-nodata' | 'SRV' | 'headless-A' | 'search-miss' | 'PTR' | 'outside';
export const MIX: ReadonlyArray<readonly [Category, number]> = [
  ['A', 25], ['AAAA-nodata', 15], ['SRV', 5], ['headless-A', 10], ['search-miss', 25], ['PTR', 5], ['outside', 15],
];

export { rng };

export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** The outside zone the upstream NSD serves: www0 … www199, TTL 3600 (the caches keep them 30 s). */
export function outsideZone(): string {
  const lines = [
    `${OUTSIDE_ZONE}. 3600 IN SOA ns.${OUTSIDE_ZONE}. hostmaster.${OUTSIDE_ZONE}. 1 7200 1800 86400 300`,
    `${OUTSIDE_ZONE}. 3600 IN NS ns.${OUTSIDE_ZONE}.`,
    `ns.${OUTSIDE_ZONE}. 3600 IN A 192.0.2.53`,
  ];
  for (let k = 0; k < OUTSIDE_NAMES; k++) lines.push(`www${k}.${OUTSIDE_ZONE}. 3600 IN A 198.51.100.${k % 250}`);
  return `${lines.join('\n')}\n`;
}

export interface QueryFiles {
  /** Every category. */
  mix: string[];
  /** The mix without outside names: what NSD can answer (it is authoritative, not a resolver). */
  cluster: string[];
  /** Outside names only: cache hits after the first query of each. */
  outside: string[];
}

export function buildQueryFiles(services: GenService[], lines: number, seed = 8): QueryFiles {
  const r = rng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
  const clusterIP = services.filter((s) => !s.headless && s.clusterIP !== undefined);
  const headless = services.filter((s) => s.headless);
  const namespaces = [...new Set(services.map((s) => s.namespace))];
  const fqdn = (s: GenService): string => `${s.name}.${s.namespace}.svc.${ZONE}`;
  const outsideName = (): string => `www${Math.floor(r() * OUTSIDE_NAMES)}.${OUTSIDE_ZONE}`;
  const total = MIX.reduce((n, [, w]) => n + w, 0);

  const line = (c: Category): string => {
    switch (c) {
      case 'A':
        return `${fqdn(pick(clusterIP))} A`;
      case 'AAAA-nodata':
        return `${fqdn(pick(clusterIP))} AAAA`;
      case 'SRV':
        return `_${PORT_NAME}._tcp.${fqdn(pick(services))} SRV`;
      case 'headless-A':
        return `${fqdn(pick(headless))} A`;
      case 'search-miss': {
        const type = r() < 0.5 ? 'A' : 'AAAA';
        const from = pick(namespaces);
        switch (Math.floor(r() * 4)) {
          case 0:
            return `${outsideName()}.${from}.svc.${ZONE} ${type}`;
          case 1:
            return `${outsideName()}.svc.${ZONE} ${type}`;
          case 2:
            return `${outsideName()}.${ZONE} ${type}`;
          default: {
            const s = pick(services);
            return `${s.name}.${s.namespace}.${from}.svc.${ZONE} ${type}`;
          }
        }
      }
      case 'PTR': {
        const s = pick(services);
        const ip = s.clusterIP !== undefined && r() < 0.5 ? s.clusterIP : pick(s.endpoints);
        return `${reverseName(ip)} PTR`;
      }
      case 'outside':
        return `${outsideName()} A`;
    }
  };

  const mix: string[] = [];
  const cluster: string[] = [];
  for (let i = 0; i < lines; i++) {
    let x = r() * total;
    let c: Category = MIX[0]![0];
    for (const [cat, w] of MIX) {
      if (x < w) {
        c = cat;
        break;
      }
      x -= w;
    }
    const l = line(c);
    mix.push(l);
    if (c !== 'outside') cluster.push(l);
  }
  const outside = Array.from({ length: Math.max(1000, Math.round(lines / 5)) }, () => `${outsideName()} A`);
  return { mix, cluster, outside };
}

/**
 * A query file for the demo state, from the zone files `cluster-dns zone` prints: every owner and type it holds
 * (CNAMEs only when their target is in the zone: NSD is not a resolver), AAAA of every A-only name (NODATA),
 * a few search-path misses, every PTR; shuffled and repeated to `lines`.
 */
export function demoQueries(forwardZone: string, reverseZone: string, lines: number, seed = 8): string[] {
  const distinct = new Set<string>();
  const aOwners = new Set<string>();
  const aaaaOwners = new Set<string>();
  for (const text of [forwardZone, reverseZone]) {
    for (const raw of text.split('\n')) {
      if (raw.startsWith(';') || raw.startsWith('$') || raw.trim() === '') continue;
      const [owner, , , type, ...rdata] = raw.split(/\s+/);
      if (owner === undefined || type === undefined) continue;
      if (type === 'CNAME' && !rdata.join(' ').endsWith(`.${ZONE}.`)) continue;
      if (type === 'A') aOwners.add(owner);
      if (type === 'AAAA') aaaaOwners.add(owner);
      distinct.add(`${owner} ${type}`);
    }
  }
  for (const o of aOwners) if (!aaaaOwners.has(o)) distinct.add(`${o} AAAA`);
  for (let k = 0; k < 5; k++) {
    distinct.add(`www${k}.${OUTSIDE_ZONE}.demo.svc.${ZONE}. A`);
    distinct.add(`www${k}.${OUTSIDE_ZONE}.svc.${ZONE}. AAAA`);
    distinct.add(`www${k}.${OUTSIDE_ZONE}.${ZONE}. A`);
  }
  const base = [...distinct];
  const r = rng(seed);
  return Array.from({ length: lines }, () => base[Math.floor(r() * base.length)]!);
}
