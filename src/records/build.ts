// Pure record building for one Service: (service, its EndpointSlices, options) → the names it owns and its
// reverse (PTR) entries. The rules follow CoreDNS's plugin/kubernetes findServices and plugin/backend_lookup.go
// A/AAAA/SRV (the rules as they answer: docs/dns-behaviour.md, What it answers).
//
// Memory: a name holds only its candidate (address, port) tuples — objects shared with the service's other
// names, target strings made once per endpoint — and its answers are worked out on first use and kept
// (`answersOf`). A cluster of 10k Services has ~60k names, most never asked for; the fast path replays the
// encoded answers of those that are.
import type { EndpointInfo, EndpointSliceInfo, PortInfo, ServiceInfo } from '../cluster/objects.js';
import { dashedIP, parseIP } from '../net/ip.js';

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
}

/** Everything a name answers, relative to the zone. */
export interface Answers {
  a: string[];
  aaaa: string[];
  srv: SrvAnswer[];
  /** The SRV targets' addresses, one per (target, address). */
  srvExtra: AddressAt[];
}

/** One candidate (address, port) tuple, CoreDNS's msg.Service. */
export interface Candidate {
  host: string;
  port: PortInfo;
  /** The name this tuple answers as in SRV targets, relative to the zone. */
  target: string;
}

export interface NameNode {
  list: Candidate[];
  /** ExternalName target (absolute, without trailing dot). */
  cname?: string;
  memo?: Answers;
}

export interface ReverseEntry {
  ip: string;
  /** PTR target relative to the primary zone. */
  target: string;
}

export interface ServiceRecords {
  /** Names and nodes; an endpoint's name is the very string its candidates carry as SRV target. */
  names: Array<[string, NameNode]>;
  clusterIPs: ReverseEntry[];
  endpoints: ReverseEntry[];
}

/**
 * A JS array grown by push keeps spare capacity (17 slots after the first push); tens of thousands of small
 * lists make that most of the index's memory, so lists that are kept are copied to their exact size.
 */
const exact = <T>(list: T[]): T[] => list.slice();

export interface BuildOptions {
  endpointPodNames: boolean;
  ignoreEmptyService: boolean;
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

const portMatches = (p: PortInfo, f: Filter): boolean =>
  (f.port === undefined || f.port === '' || f.port === p.name) && (f.protocol === undefined || f.protocol === '' || f.protocol === p.protocol);

/** Ready endpoint tuples of a service's slices: (address, slice port), named after the endpoint. */
function endpointCandidates(base: string, slices: EndpointSliceInfo[], opts: BuildOptions): { all: Candidate[]; byHost: Map<string, Candidate[]> } {
  const all: Candidate[] = [];
  const byHost = new Map<string, Candidate[]>();
  for (const slice of slices) {
    for (const ep of slice.endpoints) {
      for (const address of ep.addresses) {
        const host = endpointName(ep, address, opts.endpointPodNames);
        const target = `${host}.${base}`;
        let mine = byHost.get(host);
        if (!mine) byHost.set(host, (mine = []));
        for (const port of slice.ports) {
          const c = { host: address, port, target };
          all.push(c);
          mine.push(c);
        }
      }
    }
  }
  return { all, byHost };
}

/** The candidates for a name, or undefined when the name does not exist (NXDOMAIN). */
export function candidates(svc: ServiceInfo, slices: EndpointSliceInfo[], f: Filter, opts: BuildOptions): Candidate[] | undefined {
  if (svc.kind === 'ExternalName') return undefined; // only the bare name, as a CNAME: see buildServiceRecords
  if (opts.ignoreEmptyService && !svc.headless && !slices.some((s) => s.endpoints.some((e) => e.addresses.length))) return undefined;
  const base = serviceBase(svc);
  if (svc.headless || f.endpoint !== undefined) {
    const eps = endpointCandidates(base, slices, opts);
    const pool = f.endpoint !== undefined ? (eps.byHost.get(f.endpoint) ?? []) : eps.all;
    const list = pool.filter((c) => portMatches(c.port, f));
    return list.length ? list : undefined;
  }
  const ports = svc.ports.filter((p) => portMatches(p, f));
  if (!ports.length) return undefined;
  return ports.flatMap((port) => svc.clusterIPs.map((host) => ({ host, port, target: base })));
}

/** CoreDNS's SRV weight for one of `candidates` equal shares (plugin/backend_lookup.go `SRV`): floor(100 / N), at least 1. */
export const srvWeight = (candidates: number): number => Math.max(1, Math.floor(100 / candidates));

/** A name's answers, as CoreDNS's A/AAAA/SRV builders make them (dedup, weights, -1 ports), made once. */
export function answersOf(node: NameNode): Answers {
  if (node.memo) return node.memo;
  const list = node.list;
  const out: Answers = { a: [], aaaa: [], srv: [], srvExtra: [] };
  const seenAddr = new Set<string>();
  for (const c of list) {
    if (seenAddr.has(c.host)) continue;
    seenAddr.add(c.host);
    (c.host.includes(':') ? out.aaaa : out.a).push(c.host); // canonical text: IPv6 and only IPv6 has a colon
  }
  // Shares of every candidate, -1 ports included, before de-duplication.
  const weight = srvWeight(list.length);
  const seenSrv = new Set<string>();
  const seenExtra = new Set<string>();
  for (const c of list) {
    if (c.port.port === -1) continue;
    const srvKey = `${c.target} ${c.port.port}`;
    if (!seenSrv.has(srvKey)) {
      seenSrv.add(srvKey);
      out.srv.push({ weight, port: c.port.port, target: c.target });
    }
    const extraKey = `${c.target} ${c.host}`;
    if (!seenExtra.has(extraKey)) {
      seenExtra.add(extraKey);
      out.srvExtra.push({ name: c.target, address: c.host });
    }
  }
  node.memo = out;
  return out;
}

/** Builds every name and reverse entry of one service key. `svc` is undefined when only slices exist. */
export function buildServiceRecords(svc: ServiceInfo | undefined, slices: EndpointSliceInfo[], opts: BuildOptions): ServiceRecords {
  const names: Array<[string, NameNode]> = [];
  const clusterIPs: ReverseEntry[] = [];
  const endpoints: ReverseEntry[] = [];

  // Endpoint PTRs come from the slices alone (CoreDNS's endpoint IP index does not look at the Service).
  const sliceService = slices.find((s) => s.serviceName)?.serviceName;
  const eps = sliceService ? endpointCandidates(serviceBase({ name: sliceService, namespace: slices[0]!.namespace }), slices, opts) : undefined;
  if (eps) {
    for (const list of eps.byHost.values()) {
      const seen = new Set<string>();
      for (const c of list) {
        if (seen.has(c.host)) continue;
        seen.add(c.host);
        endpoints.push({ ip: c.host, target: c.target });
      }
    }
  }
  if (!svc) return { names, clusterIPs, endpoints };

  const base = serviceBase(svc);
  if (svc.kind === 'ExternalName') {
    // An ExternalName that is an IP address is not a name: CoreDNS ignores the service (NXDOMAIN).
    if (svc.externalName && !parseIP(svc.externalName)) names.push([base, { list: [], cname: svc.externalName }]);
    return { names, clusterIPs, endpoints };
  }
  for (const ip of svc.clusterIPs) clusterIPs.push({ ip, target: base });
  if (opts.ignoreEmptyService && !svc.headless && !(eps?.all.length ?? 0)) return { names, clusterIPs, endpoints };

  const all = svc.headless ? (eps?.all ?? []) : svc.ports.flatMap((port) => svc.clusterIPs.map((host) => ({ host, port, target: base })));
  if (all.length || (!svc.headless && svc.ports.length)) names.push([base, { list: exact(all) }]);
  for (const list of eps?.byHost.values() ?? []) if (list.length) names.push([list[0]!.target, { list: exact(list) }]);
  const seenPorts = new Set<string>();
  for (const c of all) {
    const p = c.port;
    if (p.name === '' || p.protocol === '') continue; // only reachable through a bare `_` label, resolved on demand
    const key = `${p.name}.${p.protocol}`;
    if (seenPorts.has(key)) continue;
    seenPorts.add(key);
    names.push([`${key}.${base}`, { list: all.filter((x) => x.port.name === p.name && x.port.protocol === p.protocol) }]);
  }
  return { names: exact(names), clusterIPs: exact(clusterIPs), endpoints: exact(endpoints) };
}
