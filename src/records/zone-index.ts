// The record index: name (relative to the zone) → its node (candidate tuples, answers made on first use), plus
// reverse indexes by IP. Updated per Service key when the cluster state says it changed; queries only read it.
import type { ClusterState, StateListener } from '../cluster/state.js';
import { type Answers, type BuildOptions, type Filter, type NameNode, answersOf, buildServiceRecords, candidates } from './build.js';

/**
 * What a Service key put in the index, to take it out again: its names and the addresses of its reverse
 * entries (the nodes are in `names`, the targets in the reverse maps). Plain string arrays of exact size.
 */
interface Owned {
  names: string[];
  clusterIPs: string[];
  endpoints: string[];
}

/**
 * The PTR targets of one address, in arrival order: one string (nearly every address has one owner) or several.
 * The owning Service's key is read back from a target (`[host.]name.namespace.svc`: labels hold no dots), so
 * an entry costs one Map slot and no tuple objects (measured: about 110 bytes less per address).
 */
type Targets = string | string[];

const targetsOf = (v: Targets | undefined): readonly string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : v);

/** The Service key (namespace/name) a PTR target belongs to. */
export function keyOfTarget(target: string): string {
  const end = target.length - 4; // '.svc'
  const dot = target.lastIndexOf('.', end - 1);
  const before = target.lastIndexOf('.', dot - 1);
  return `${target.substring(dot + 1, end)}/${target.substring(before + 1, dot)}`;
}

function addTarget(index: Map<string, Targets>, ip: string, target: string): void {
  const v = index.get(ip);
  index.set(ip, v === undefined ? target : typeof v === 'string' ? [v, target] : [...v, target]);
}

function dropTargets(index: Map<string, Targets>, ip: string, key: string): void {
  const rest = targetsOf(index.get(ip)).filter((t) => keyOfTarget(t) !== key);
  if (rest.length === 0) index.delete(ip);
  else index.set(ip, rest.length === 1 ? rest[0]! : rest);
}

export class ZoneIndex implements StateListener {
  private readonly names = new Map<string, NameNode>();
  private readonly owned = new Map<string, Owned>();
  /** ip → PTR targets of the services whose cluster IPs include it, in arrival order (CoreDNS answers the first). */
  private readonly clusterIPs = new Map<string, Targets>();
  /** ip → PTR targets of every ready endpoint with that address. */
  private readonly endpointIPs = new Map<string, Targets>();
  /** SOA serial: Unix seconds of the last change DNS can see (CoreDNS's `Modified`). */
  serial: number;
  /** Bumped on every change; the answer cache keys on it. */
  generation = 0;
  private readonly changeListeners: Array<() => void> = [];
  /**
   * Service keys not built yet. Until the first listing is complete (`deferring`) changes only land here: a
   * Service and its slices arrive in separate lists, so building on each would build most Services twice. Then
   * the rest is built in the background, a few milliseconds per turn of the event loop, so the server can be
   * ready at once (at 10,000 Services the whole build is about 0.4 s of CPU and as much garbage); until it is
   * done, a lookup builds its own Service first, and a read that needs every Service (PTR, NS, the zone, the
   * name count) builds the rest at once. No read ever answers from a key that is still pending.
   */
  private pending: Set<string> | undefined;
  private deferring = false;
  private readonly builtListeners: Array<() => void> = [];

  constructor(
    private readonly state: ClusterState,
    readonly options: BuildOptions,
    private readonly clock: () => number = Date.now,
    /** How the background build gets its turns, and its time budget per turn: injectable for tests. */
    private readonly background: { schedule: (run: () => void) => void; now: () => number; budgetMs: number } = { schedule: setImmediate, now: () => performance.now(), budgetMs: 4 },
  ) {
    this.serial = Math.floor(clock() / 1000);
    state.subscribe(this);
    // Whatever the state already holds (a source may have loaded before the index existed).
    for (const key of new Set([...state.services.keys(), ...state.serviceKeysWithSlices()])) this.serviceChanged(key);
  }

  /** Defers building until `until` settles, then builds what changed meanwhile in the background (see `pending`). */
  deferUntil(until: Promise<unknown>): void {
    this.pending ??= new Set();
    this.deferring = true;
    const start = (): void => {
      if (!this.deferring) return; // a full read settled it already
      this.deferring = false;
      this.background.schedule(this.buildSome);
    };
    until.then(start, start);
  }

  /** Called once every key is built (at once when nothing is pending). */
  whenBuilt(listener: () => void): void {
    if (this.pending === undefined) listener();
    else this.builtListeners.push(listener);
  }

  /** One turn of the background build: keys until the budget is spent, then the next turn. */
  private readonly buildSome = (): void => {
    const keys = this.pending;
    if (keys === undefined || this.deferring) return;
    const until = this.background.now() + this.background.budgetMs;
    for (const key of keys) {
      keys.delete(key);
      this.build(key);
      if (this.background.now() >= until) break;
    }
    if (keys.size > 0) this.background.schedule(this.buildSome);
    else this.finished();
  };

  /** Builds everything still pending now, and stops deferring. */
  settle(): void {
    const keys = this.pending;
    if (!keys) return;
    for (const key of keys) this.build(key);
    keys.clear();
    this.finished();
  }

  private finished(): void {
    this.pending = undefined;
    this.deferring = false;
    // Nothing answered from a pending key, so nothing cached is stale; the serial still says the index changed.
    this.touched();
    for (const l of this.builtListeners.splice(0)) l();
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
    if (this.deferring) {
      this.pending!.add(key);
      this.touched(); // a lookup may have built this key already, or cached that it does not exist
      return;
    }
    this.pending?.delete(key);
    this.build(key);
    this.touched();
  }

  private build(key: string): void {
    const old = this.owned.get(key);
    if (old) this.remove(key, old);
    const records = buildServiceRecords(this.state.services.get(key), this.state.slicesFor(key), this.options);
    if (records.names.length || records.clusterIPs.length || records.endpoints.length) {
      this.owned.set(key, { names: records.names.map(([name]) => name), clusterIPs: records.clusterIPs.map((r) => r.ip), endpoints: records.endpoints.map((r) => r.ip) });
      for (const [name, node] of records.names) this.names.set(name, node);
      for (const { ip, target } of records.clusterIPs) addTarget(this.clusterIPs, ip, target);
      for (const { ip, target } of records.endpoints) addTarget(this.endpointIPs, ip, target);
    } else {
      this.owned.delete(key);
    }
  }

  private remove(key: string, owned: Owned): void {
    for (const name of owned.names) this.names.delete(name);
    for (const ip of owned.clusterIPs) dropTargets(this.clusterIPs, ip, key);
    for (const ip of owned.endpoints) dropTargets(this.endpointIPs, ip, key);
  }

  lookup(name: string): NameNode | undefined {
    if (this.pending !== undefined) this.buildPending(keyOfTarget(name));
    return this.names.get(name);
  }

  /** Builds one pending key now (a lookup's own Service, while the rest waits its turn). */
  private buildPending(key: string): void {
    if (!this.pending!.delete(key)) return;
    this.build(key);
  }

  /** Names with a bare `_` port or protocol label: computed from the service on demand (rare, never cached). */
  lookupWildcardPort(serviceName: string, namespace: string, f: Filter): NameNode | undefined {
    const key = `${namespace}/${serviceName}`;
    const svc = this.state.services.get(key);
    if (!svc) return undefined;
    const list = candidates(svc, this.state.slicesFor(key), f, this.options);
    return list ? { list } : undefined;
  }

  namespaceExists(name: string): boolean {
    return this.state.namespaceExists(name);
  }

  podCount(namespace: string, ip: string): number {
    return this.state.podCount(namespace, ip);
  }

  /** PTR targets (relative to the primary zone): a cluster IP wins alone, else every endpoint name. */
  reverse(ip: string): string[] {
    this.settle();
    const svc = targetsOf(this.clusterIPs.get(ip))[0];
    if (svc !== undefined) return [svc];
    return [...new Set(targetsOf(this.endpointIPs.get(ip)))];
  }

  /**
   * The Services that have `ip` as a ready endpoint, as the names and addresses a DNS server at that address
   * is known by: a ClusterIP service by its cluster IPs, a headless one by the endpoint's own name.
   */
  servicesServedBy(ip: string): Array<{ name: string; addresses: string[] }> {
    this.settle();
    const out: Array<{ name: string; addresses: string[] }> = [];
    for (const target of targetsOf(this.endpointIPs.get(ip))) {
      const svc = this.state.services.get(keyOfTarget(target));
      if (!svc) continue;
      if (!svc.headless) {
        if (svc.clusterIPs.length) out.push({ name: `${svc.name}.${svc.namespace}.svc`, addresses: svc.clusterIPs });
      } else out.push({ name: target, addresses: [ip] });
    }
    return out;
  }

  /** For the /records debug view: the node of a zone-relative name, and the Service and slices it came from. */
  explain(base: string): { node: Answers & { cname?: string }; service: string; serviceObject: unknown; slices: string[] } | undefined {
    this.settle();
    const node = this.names.get(base);
    if (!node) return undefined;
    for (const [key, records] of this.owned) {
      if (!records.names.includes(base)) continue;
      return {
        node: node.cname !== undefined ? { ...answersOf(node), cname: node.cname } : answersOf(node),
        service: key,
        serviceObject: this.state.services.get(key),
        slices: this.state.slicesFor(key).map((s) => `${s.namespace}/${s.name}`),
      };
    }
    return undefined;
  }

  /** For the /records debug view: which services and endpoints claim an address. */
  explainAddress(ip: string): { clusterIPOf: string[]; endpointOf: Record<string, string[]>; answer: string[] } {
    this.settle();
    return {
      clusterIPOf: targetsOf(this.clusterIPs.get(ip)).map(keyOfTarget),
      endpointOf: targetsOf(this.endpointIPs.get(ip)).reduce<Record<string, string[]>>((o, target) => ({ ...o, [keyOfTarget(target)]: [...(o[keyOfTarget(target)] ?? []), target] }), {}),
      answer: this.reverse(ip),
    };
  }

  /** Every name and its node, for `cluster-dns zone`. */
  entries(): IterableIterator<[string, NameNode]> {
    this.settle();
    return this.names.entries();
  }

  reverseEntries(): Array<[string, string[]]> {
    this.settle();
    const ips = new Set([...this.clusterIPs.keys(), ...this.endpointIPs.keys()]);
    return [...ips].map((ip) => [ip, this.reverse(ip)]);
  }

  recordCount(): number {
    this.settle();
    return this.names.size;
  }
}
