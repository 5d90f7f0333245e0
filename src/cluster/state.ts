// The cluster as DNS sees it: minimal objects by key, kept current by a source (API watches or manifest
// files). Listeners hear which Service's records must be rebuilt, so one object touches one Service.
import { type EndpointSliceInfo, type NamespaceInfo, type PodInfo, type ServiceInfo, serviceKey } from './objects.js';

export interface StateListener {
  /** The records of this service key (namespace/name) may have changed. */
  serviceChanged(key: string): void;
  /** Namespaces or pods changed: answers that depend on existence only. */
  otherChanged(): void;
}

/** Whether an update changes nothing DNS sees; a first sighting never is (and is not serialised to find out). */
const same = (a: unknown, b: unknown): boolean => a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b);

export class ClusterState {
  readonly services = new Map<string, ServiceInfo>();
  /** slice key → slice */
  private readonly slices = new Map<string, EndpointSliceInfo>();
  /** service key → slice key → slice: CoreDNS folds every slice labelled with a service into it. */
  private readonly slicesByService = new Map<string, Map<string, EndpointSliceInfo>>();
  private readonly namespaces = new Map<string, NamespaceInfo>();
  /** "namespace ip" → pod keys with that primary IP, for --pods verified. */
  private readonly podsByIP = new Map<string, Set<string>>();
  private readonly pods = new Map<string, PodInfo>();
  private readonly listeners: StateListener[] = [];
  /** When set (the manifests source), a namespace referenced by any object counts as existing. */
  constructor(private readonly implicitNamespaces = false) {}

  subscribe(listener: StateListener): void {
    this.listeners.push(listener);
  }

  private emitService(key: string): void {
    for (const l of this.listeners) l.serviceChanged(key);
  }
  private emitOther(): void {
    for (const l of this.listeners) l.otherChanged();
  }

  namespaceExists(name: string): boolean {
    if (this.namespaces.has(name)) return true;
    if (!this.implicitNamespaces) return false;
    for (const s of this.services.values()) if (s.namespace === name) return true;
    for (const s of this.slices.values()) if (s.namespace === name) return true;
    for (const p of this.pods.values()) if (p.namespace === name) return true;
    return false;
  }

  /** The watched Namespace object, if any (implicit namespaces of the manifests source have none). */
  namespace(name: string): NamespaceInfo | undefined {
    return this.namespaces.get(name);
  }

  slicesFor(key: string): EndpointSliceInfo[] {
    const m = this.slicesByService.get(key);
    return m ? [...m.values()] : [];
  }

  serviceKeysWithSlices(): Iterable<string> {
    return this.slicesByService.keys();
  }

  podCount(namespace: string, ip: string): number {
    return this.podsByIP.get(`${namespace} ${ip}`)?.size ?? 0;
  }

  counts(): Record<string, number> {
    return { services: this.services.size, endpointslices: this.slices.size, namespaces: this.namespaces.size, pods: this.pods.size };
  }

  upsertService(s: ServiceInfo): void {
    const key = serviceKey(s.namespace, s.name);
    if (same(this.services.get(key), s)) return;
    this.services.set(key, s);
    this.emitService(key);
  }

  deleteService(namespace: string, name: string): void {
    const key = serviceKey(namespace, name);
    if (this.services.delete(key)) this.emitService(key);
  }

  upsertSlice(s: EndpointSliceInfo): void {
    const key = serviceKey(s.namespace, s.name);
    const old = this.slices.get(key);
    if (old && same(old, s)) return;
    this.slices.set(key, s);
    const oldOwner = old?.serviceName !== undefined ? serviceKey(old.namespace, old.serviceName) : undefined;
    const newOwner = s.serviceName !== undefined ? serviceKey(s.namespace, s.serviceName) : undefined;
    if (oldOwner && oldOwner !== newOwner) this.detachSlice(oldOwner, key);
    if (newOwner) {
      let m = this.slicesByService.get(newOwner);
      if (!m) this.slicesByService.set(newOwner, (m = new Map()));
      m.set(key, s);
      this.emitService(newOwner);
    }
  }

  deleteSlice(namespace: string, name: string): void {
    const key = serviceKey(namespace, name);
    const old = this.slices.get(key);
    if (!old) return;
    this.slices.delete(key);
    if (old.serviceName !== undefined) this.detachSlice(serviceKey(old.namespace, old.serviceName), key);
  }

  private detachSlice(owner: string, sliceKey: string): void {
    const m = this.slicesByService.get(owner);
    if (!m?.delete(sliceKey)) return;
    if (m.size === 0) this.slicesByService.delete(owner);
    this.emitService(owner);
  }

  upsertNamespace(n: NamespaceInfo): void {
    const known = this.namespaces.has(n.name);
    this.namespaces.set(n.name, n);
    // DNS sees only existence; a label change (the env-var injector's opt-out) is kept without a rebuild.
    if (!known) this.emitOther();
  }

  deleteNamespace(name: string): void {
    if (this.namespaces.delete(name)) this.emitOther();
  }

  /** A pod that must not answer (no IP, terminal, deleting) arrives as `undefined` info and is removed. */
  upsertPod(namespace: string, name: string, info: PodInfo | undefined): void {
    const key = serviceKey(namespace, name);
    const old = this.pods.get(key);
    if (same(old, info)) return;
    if (old) this.podsByIP.get(`${old.namespace} ${old.ip}`)?.delete(key);
    if (info) {
      this.pods.set(key, info);
      const ipKey = `${info.namespace} ${info.ip}`;
      let set = this.podsByIP.get(ipKey);
      if (!set) this.podsByIP.set(ipKey, (set = new Set()));
      set.add(key);
    } else {
      this.pods.delete(key);
    }
    this.emitOther();
  }

  deletePod(namespace: string, name: string): void {
    this.upsertPod(namespace, name, undefined);
  }
}
