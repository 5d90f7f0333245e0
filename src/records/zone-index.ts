// The record index: name (relative to the zone) → precomputed answers, plus reverse indexes by IP. Updated
// per Service key when the cluster state says it changed; queries only read it.
import type { ClusterState, StateListener } from '../cluster/state.js';
import { type BuildOptions, type Filter, type NameNode, type ServiceRecords, buildServiceRecords, candidates, nodeFromCandidates } from './build.js';

export class ZoneIndex implements StateListener {
  private readonly names = new Map<string, NameNode>();
  private readonly owned = new Map<string, ServiceRecords>();
  /** ip → service keys whose cluster IPs include it, in arrival order (CoreDNS answers the first). */
  private readonly clusterIPs = new Map<string, Map<string, string>>();
  /** ip → service key → PTR targets of ready endpoints with that address. */
  private readonly endpointIPs = new Map<string, Map<string, string[]>>();
  /** SOA serial: Unix seconds of the last change DNS can see (CoreDNS's `Modified`). */
  serial = Math.floor(Date.now() / 1000);
  /** Bumped on every change; the answer cache keys on it. */
  generation = 0;
  private readonly changeListeners: Array<() => void> = [];

  constructor(
    private readonly state: ClusterState,
    readonly options: BuildOptions,
    private readonly clock: () => number = Date.now,
  ) {
    state.subscribe(this);
    // Whatever the state already holds (a source may have loaded before the index existed).
    for (const key of new Set([...state.services.keys(), ...state.serviceKeysWithSlices()])) this.serviceChanged(key);
  }

  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  private touched(): void {
    this.generation++;
    this.serial = Math.max(this.serial, Math.floor(this.clock() / 1000)) >>> 0;
    for (const l of this.changeListeners) l();
  }

  otherChanged(): void {
    this.touched();
  }

  serviceChanged(key: string): void {
    const old = this.owned.get(key);
    if (old) this.remove(key, old);
    const records = buildServiceRecords(this.state.services.get(key), this.state.slicesFor(key), this.options);
    if (records.names.size || records.clusterIPs.length || records.endpoints.length) {
      this.owned.set(key, records);
      for (const [name, node] of records.names) this.names.set(name, node);
      for (const { ip, target } of records.clusterIPs) {
        let m = this.clusterIPs.get(ip);
        if (!m) this.clusterIPs.set(ip, (m = new Map()));
        m.set(key, target);
      }
      for (const { ip, target } of records.endpoints) {
        let m = this.endpointIPs.get(ip);
        if (!m) this.endpointIPs.set(ip, (m = new Map()));
        const list = m.get(key);
        if (list) list.push(target);
        else m.set(key, [target]);
      }
    } else {
      this.owned.delete(key);
    }
    this.touched();
  }

  private remove(key: string, records: ServiceRecords): void {
    for (const name of records.names.keys()) this.names.delete(name);
    for (const { ip } of records.clusterIPs) {
      const m = this.clusterIPs.get(ip);
      m?.delete(key);
      if (m?.size === 0) this.clusterIPs.delete(ip);
    }
    for (const { ip } of records.endpoints) {
      const m = this.endpointIPs.get(ip);
      m?.delete(key);
      if (m?.size === 0) this.endpointIPs.delete(ip);
    }
  }

  lookup(name: string): NameNode | undefined {
    return this.names.get(name);
  }

  /** Names with a bare `_` port or protocol label: computed from the service on demand (rare, never cached). */
  lookupWildcardPort(serviceName: string, namespace: string, f: Filter): NameNode | undefined {
    const key = `${namespace}/${serviceName}`;
    const svc = this.state.services.get(key);
    if (!svc) return undefined;
    const list = candidates(svc, this.state.slicesFor(key), f, this.options);
    return list ? nodeFromCandidates(list) : undefined;
  }

  namespaceExists(name: string): boolean {
    return this.state.namespaceExists(name);
  }

  podExists(namespace: string, ip: string): boolean {
    return this.state.podExists(namespace, ip);
  }

  /** PTR targets (relative to the primary zone): a cluster IP wins alone, else every endpoint name. */
  reverse(ip: string): string[] {
    const svc = this.clusterIPs.get(ip);
    if (svc) for (const target of svc.values()) return [target];
    const eps = this.endpointIPs.get(ip);
    if (!eps) return [];
    const out = new Set<string>();
    for (const targets of eps.values()) for (const t of targets) out.add(t);
    return [...out];
  }

  /**
   * The Services that have `ip` as a ready endpoint, as the names and addresses a DNS server at that address
   * is known by: a ClusterIP service by its cluster IPs, a headless one by the endpoint's own name.
   */
  servicesServedBy(ip: string): Array<{ name: string; addresses: string[] }> {
    const out: Array<{ name: string; addresses: string[] }> = [];
    for (const [key, targets] of this.endpointIPs.get(ip) ?? []) {
      const svc = this.state.services.get(key);
      if (!svc) continue;
      if (!svc.headless) {
        if (svc.clusterIPs.length) out.push({ name: `${svc.name}.${svc.namespace}.svc`, addresses: svc.clusterIPs });
        continue;
      }
      for (const target of targets) out.push({ name: target, addresses: [ip] });
    }
    return out;
  }

  /** For the /records debug view: the node of a zone-relative name, and the Service and slices it came from. */
  explain(base: string): { node: NameNode; service: string; serviceObject: unknown; slices: string[] } | undefined {
    const node = this.names.get(base);
    if (!node) return undefined;
    for (const [key, records] of this.owned) {
      if (!records.names.has(base)) continue;
      return {
        node,
        service: key,
        serviceObject: this.state.services.get(key),
        slices: this.state.slicesFor(key).map((s) => `${s.namespace}/${s.name}`),
      };
    }
    return undefined;
  }

  /** For the /records debug view: which services and endpoints claim an address. */
  explainAddress(ip: string): { clusterIPOf: string[]; endpointOf: Record<string, string[]>; answer: string[] } {
    return {
      clusterIPOf: [...(this.clusterIPs.get(ip)?.keys() ?? [])],
      endpointOf: Object.fromEntries(this.endpointIPs.get(ip) ?? []),
      answer: this.reverse(ip),
    };
  }

  /** Every name and its node, for `cluster-dns zone`. */
  entries(): IterableIterator<[string, NameNode]> {
    return this.names.entries();
  }

  reverseEntries(): Array<[string, string[]]> {
    const ips = new Set([...this.clusterIPs.keys(), ...this.endpointIPs.keys()]);
    return [...ips].map((ip) => [ip, this.reverse(ip)]);
  }

  recordCount(): number {
    return this.names.size;
  }
}
