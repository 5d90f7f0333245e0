// Pure record building for one Service: (service, its EndpointSlices, options) → the names it owns, each with
// its answers precomputed per query type, plus its reverse (PTR) entries. The rules follow CoreDNS's
// plugin/kubernetes findServices and plugin/backend_lookup.go A/AAAA/SRV (see the shared spec digest §2).
import type { EndpointInfo, EndpointSliceInfo, PortInfo, ServiceInfo } from '../kube/objects.js';
import { dashedIP, parseIP } from './ip.js';

export interface SrvAnswer {
  weight: number;
  port: number;
  /** Target relative to the zone, e.g. `web.default.svc`. */
  target: string;
}

export interface AddressAt {
  /** Owner relative to the zone. */
  name: string;
  address: string;
  family: 4 | 6;
}

/** Everything a name answers, relative to the zone: a lookup, never a computation, at query time. */
export interface NameNode {
  a: string[];
  aaaa: string[];
  srv: SrvAnswer[];
  /** The SRV targets' addresses, one per (target, address). */
  srvExtra: AddressAt[];
  /** ExternalName target (absolute, without trailing dot). */
  cname?: string;
}

export interface ReverseEntry {
  ip: string;
  /** PTR target relative to the primary zone. */
  target: string;
}

export interface ServiceRecords {
  names: Map<string, NameNode>;
  clusterIPs: ReverseEntry[];
  endpoints: ReverseEntry[];
}

export interface BuildOptions {
  endpointPodNames: boolean;
  ignoreEmptyService: boolean;
}

/** One candidate (address, port) tuple, CoreDNS's msg.Service. */
interface Candidate {
  host: string;
  port: number;
  target: string;
}

export interface Filter {
  endpoint?: string;
  /** '' matches any port name (a bare `_` label), as CoreDNS's matchPortAndProtocol does. */
  port?: string;
  protocol?: string;
}

export const serviceBase = (s: { name: string; namespace: string }): string => `${s.name}.${s.namespace}.svc`;

export function endpointName(ep: EndpointInfo, address: string, podNames: boolean): string {
  if (ep.hostname) return ep.hostname;
  if (podNames && ep.podName) return ep.podName;
  return dashedIP(address);
}

function portMatches(p: PortInfo, f: Filter): boolean {
  return (f.port === undefined || f.port === '' || f.port === p.name) && (f.protocol === undefined || f.protocol === '' || f.protocol === p.protocol);
}

function readyAddressCount(slices: EndpointSliceInfo[]): number {
  let n = 0;
  for (const s of slices) for (const e of s.endpoints) n += e.addresses.length;
  return n;
}

/** The candidates for a name, or undefined when the name does not exist (NXDOMAIN). */
export function candidates(svc: ServiceInfo, slices: EndpointSliceInfo[], f: Filter, opts: BuildOptions): Candidate[] | undefined {
  const base = serviceBase(svc);
  if (svc.kind === 'ExternalName') return undefined; // handled by the caller: only the bare name, as a CNAME
  if (opts.ignoreEmptyService && !svc.headless && readyAddressCount(slices) === 0) return undefined;
  const out: Candidate[] = [];
  if (svc.headless || f.endpoint !== undefined) {
    for (const slice of slices) {
      for (const ep of slice.endpoints) {
        for (const address of ep.addresses) {
          const host = endpointName(ep, address, opts.endpointPodNames);
          if (f.endpoint !== undefined && f.endpoint !== host) continue;
          for (const p of slice.ports) if (portMatches(p, f)) out.push({ host: address, port: p.port, target: `${host}.${base}` });
        }
      }
    }
    return out.length ? out : undefined;
  }
  let matched = false;
  for (const p of svc.ports) {
    if (!portMatches(p, f)) continue;
    matched = true;
    for (const ip of svc.clusterIPs) out.push({ host: ip, port: p.port, target: base });
  }
  return matched ? out : undefined;
}

/** Turns candidates into answers exactly as CoreDNS's A/AAAA/SRV builders do (dedup, weights, -1 ports). */
export function nodeFromCandidates(list: Candidate[]): NameNode {
  const node: NameNode = { a: [], aaaa: [], srv: [], srvExtra: [] };
  const seenAddr = new Set<string>();
  for (const c of list) {
    if (seenAddr.has(c.host)) continue;
    seenAddr.add(c.host);
    (parseIP(c.host)?.family === 6 ? node.aaaa : node.a).push(c.host);
  }
  // Weight = floor(100 / N) over every candidate, -1 ports included, before de-duplication; at least 1.
  const weight = Math.max(1, Math.floor(100 / list.length));
  const seenSrv = new Set<string>();
  const seenExtra = new Set<string>();
  for (const c of list) {
    if (c.port === -1) continue;
    const srvKey = `${c.target} ${c.port}`;
    if (!seenSrv.has(srvKey)) {
      seenSrv.add(srvKey);
      node.srv.push({ weight, port: c.port, target: c.target });
    }
    const extraKey = `${c.target} ${c.host}`;
    if (!seenExtra.has(extraKey)) {
      seenExtra.add(extraKey);
      node.srvExtra.push({ name: c.target, address: c.host, family: parseIP(c.host)?.family === 6 ? 6 : 4 });
    }
  }
  return node;
}

/** Builds every name and reverse entry of one service key. `svc` is undefined when only slices exist. */
export function buildServiceRecords(svc: ServiceInfo | undefined, slices: EndpointSliceInfo[], opts: BuildOptions): ServiceRecords {
  const names = new Map<string, NameNode>();
  const clusterIPs: ReverseEntry[] = [];
  const endpoints: ReverseEntry[] = [];

  // Endpoint PTRs come from the slices alone (CoreDNS's endpoint IP index does not look at the Service).
  for (const slice of slices) {
    if (!slice.serviceName) continue;
    const base = serviceBase({ name: slice.serviceName, namespace: slice.namespace });
    for (const ep of slice.endpoints) {
      for (const address of ep.addresses) endpoints.push({ ip: address, target: `${endpointName(ep, address, opts.endpointPodNames)}.${base}` });
    }
  }
  if (!svc) return { names, clusterIPs, endpoints };

  const base = serviceBase(svc);
  if (svc.kind === 'ExternalName') {
    // An ExternalName that is an IP address is not a name: CoreDNS ignores the service (NXDOMAIN).
    if (svc.externalName && !parseIP(svc.externalName)) names.set(base, { a: [], aaaa: [], srv: [], srvExtra: [], cname: svc.externalName });
    return { names, clusterIPs, endpoints };
  }
  for (const ip of svc.clusterIPs) clusterIPs.push({ ip, target: base });

  const add = (name: string, f: Filter): void => {
    const list = candidates(svc, slices, f, opts);
    if (list) names.set(name, nodeFromCandidates(list));
  };
  add(base, {});
  const endpointNames = new Set<string>();
  for (const slice of slices) {
    for (const ep of slice.endpoints) for (const address of ep.addresses) endpointNames.add(endpointName(ep, address, opts.endpointPodNames));
  }
  for (const host of endpointNames) add(`${host}.${base}`, { endpoint: host });
  const ports = svc.headless ? slices.flatMap((s) => s.ports) : svc.ports;
  for (const p of ports) {
    if (p.name === '' || p.protocol === '') continue; // only reachable through a bare `_` label, resolved on demand
    add(`${p.name}.${p.protocol}.${base}`, { port: p.name, protocol: p.protocol });
  }
  return { names, clusterIPs, endpoints };
}
