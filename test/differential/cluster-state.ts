// The cluster the differential suite asks about: generated from the seed, written through the real API server,
// and changed between rounds. Services have no selector, so every EndpointSlice is the one written here by hand
// (IPv4 and IPv6, ready / not ready / serving-terminating, hostnames, addresses in two slices, port names that do
// not match the Service's), and the model below is exactly what both servers watch.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { Kube } from '../helpers/kube.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export interface Port {
  name: string;
  port: number;
  protocol: Protocol;
}
export interface Endpoint {
  addresses: string[];
  hostname?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}
export interface Slice {
  name: string;
  addressType: 'IPv4' | 'IPv6';
  ports: Port[];
  endpoints: Endpoint[];
}
export interface Service {
  ns: string;
  name: string;
  kind: 'clusterip' | 'headless' | 'external';
  ports: Port[];
  externalName?: string;
  /**
   * ClusterIP services: drawn from the seed in 10.96.200.0–10.96.250.255 (inside the test API server's service
   * CIDR, away from what it allocates by itself), so a replay asks the same reverse names. If the address is taken,
   * the API server allocates one and this holds that.
   */
  clusterIP?: string;
  slices: Slice[];
}
export interface Pod {
  ns: string;
  name: string;
  ip: string;
}
export interface State {
  namespaces: string[];
  services: Service[];
  pods: Pod[];
}

type Random = () => number;
const pick = <T>(random: Random, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const int = (random: Random, lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

const SERVICE_NAMES = ['web', 'api', 'db', 'svc', 'pod', 'cache', 'x1', 'a', 'metrics-gateway', 'ns'];
const PORT_NAMES = ['http', 'https', 'dns', 'grpc', 'pg', 'metrics'];
/** Outside names an ExternalName may point at (served by the test's NSD, or refused by it). */
const EXTERNAL_TARGETS = ['www.example.test', 'alias.example.test', 'big.example.test', 'nope.example.test', 'x.refused.test', 'app.stub.test', 'long.example.test'];

export const v4Pool = (i: number): string => `10.244.${1 + (i % 3)}.${1 + Math.floor(i / 3)}`;
export const v6Pool = (i: number): string => `fd00:10:244::${(i + 1).toString(16)}`;

function ports(random: Random, min: number): Port[] {
  const n = int(random, min, 3);
  const names = [...PORT_NAMES].sort(() => random() - 0.5).slice(0, n);
  return names.map((name, i) => ({ name: n === 1 && random() < 0.3 ? '' : name, port: int(random, 1, 65535), protocol: pick(random, ['TCP', 'TCP', 'UDP', 'SCTP'] as const) }));
}

function endpoint(random: Random, v6: boolean): Endpoint {
  const ip = v6 ? v6Pool(int(random, 0, 20)) : v4Pool(int(random, 0, 40));
  const e: Endpoint = { addresses: [ip] };
  if (random() < 0.35) e.hostname = pick(random, ['h0', 'h1', 'db-0', 'web', 'svc']);
  const c = random();
  if (c < 0.2) e.ready = false;
  else if (c < 0.3) Object.assign(e, { ready: false, serving: true, terminating: true });
  else if (c < 0.75) e.ready = true; // else: no conditions at all, which counts as ready
  return e;
}

function slices(random: Random, svc: Service): Slice[] {
  const out: Slice[] = [];
  const count = int(random, 0, 3);
  for (let s = 0; s < count; s++) {
    const v6 = random() < 0.25;
    // Target ports: the Service's names most of the time, now and then a name the Service does not have.
    const slicePorts = svc.ports.map((p, i) => ({ ...p, name: random() < 0.15 ? `other${i}` : p.name, port: int(random, 1, 65535) }));
    const big = random() < 0.08;
    const endpoints = Array.from({ length: big ? 45 : int(random, 1, 4) }, (_, i) => (big ? { addresses: [v6 ? v6Pool(100 + i) : `10.245.0.${i + 1}`] } : endpoint(random, v6)));
    out.push({ name: `${svc.name}-${s}`, addressType: v6 ? 'IPv6' : 'IPv4', ports: slicePorts, endpoints });
  }
  return out;
}

function service(random: Random, ns: string, name: string, namespaces: string[]): Service {
  const kind = pick(random, ['clusterip', 'clusterip', 'headless', 'headless', 'external'] as const);
  if (kind === 'external') {
    const inCluster = random() < 0.3;
    const externalName = inCluster ? `${pick(random, SERVICE_NAMES)}.${pick(random, namespaces)}.svc.cluster.local` : pick(random, EXTERNAL_TARGETS);
    return { ns, name, kind, ports: [], externalName, slices: [] };
  }
  const svc: Service = { ns, name, kind, ports: ports(random, kind === 'clusterip' ? 1 : 0), slices: [], ...(kind === 'clusterip' ? { clusterIP: `10.96.${int(random, 200, 250)}.${int(random, 1, 254)}` } : {}) };
  svc.slices = slices(random, svc);
  return svc;
}

/** Namespaces: `svc` and `pod` (names the grammar could confuse) and `extra` random ones, each with a few services. */
export function generateState(random: Random, prefix: string, extra: number): State {
  const namespaces = ['svc', 'pod', ...Array.from({ length: extra }, (_, i) => `${prefix}-${i}`)];
  const services: Service[] = [];
  for (const ns of namespaces) {
    const names = [...SERVICE_NAMES].sort(() => random() - 0.5).slice(0, int(random, 2, 4));
    for (const name of names) services.push(service(random, ns, name, namespaces));
  }
  const pods = Array.from({ length: 3 }, (_, i) => ({ ns: pick(random, namespaces), name: `pod-${i}`, ip: v4Pool(int(random, 0, 40)) }));
  return { namespaces, services, pods };
}

const MANAGED_BY = 'differential.cluster-dns.test';

function sliceBody(svc: Service, s: Slice): V1EndpointSlice {
  return {
    metadata: { name: s.name, labels: { 'kubernetes.io/service-name': svc.name, 'endpointslice.kubernetes.io/managed-by': MANAGED_BY } },
    addressType: s.addressType,
    ports: s.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
    endpoints: s.endpoints.map((e) => ({
      addresses: e.addresses,
      ...(e.hostname ? { hostname: e.hostname } : {}),
      ...(e.ready !== undefined || e.serving !== undefined ? { conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating } } : {}),
    })),
  };
}

async function createService(kube: Kube, svc: Service): Promise<void> {
  const spec =
    svc.kind === 'external'
      ? { type: 'ExternalName', externalName: svc.externalName }
      : { clusterIP: svc.kind === 'headless' ? 'None' : svc.clusterIP, ports: svc.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol })) };
  const created = await kube.createService(svc.ns, svc.name, spec).catch((err: unknown) => {
    // The drawn address is in use (two draws alike, or another suite's): let the API server pick one.
    if (svc.kind !== 'clusterip' || (err as { code?: number }).code !== 422) throw err;
    return kube.createService(svc.ns, svc.name, { ...spec, clusterIP: undefined });
  });
  if (svc.kind === 'clusterip') svc.clusterIP = created.spec?.clusterIP;
  for (const s of svc.slices) await kube.discovery.createNamespacedEndpointSlice({ namespace: svc.ns, body: sliceBody(svc, s) });
}

/** Writes the state. Namespaces left by an earlier run (`svc`, `pod`) are emptied first. */
export async function applyState(kube: Kube, state: State): Promise<void> {
  for (const ns of state.namespaces) {
    try {
      await kube.core.createNamespace({ body: { metadata: { name: ns, labels: { 'cluster-dns.test/suite': 'differential' } } } });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
      await emptyNamespace(kube, ns);
    }
  }
  for (const svc of state.services) await createService(kube, svc);
  for (const p of state.pods) await kube.createReadyPod(p.ns, p.name, p.ip);
}

async function emptyNamespace(kube: Kube, ns: string): Promise<void> {
  const svcs = await kube.core.listNamespacedService({ namespace: ns });
  for (const s of svcs.items) await kube.core.deleteNamespacedService({ namespace: ns, name: s.metadata!.name! });
  await kube.discovery.deleteCollectionNamespacedEndpointSlice({ namespace: ns });
  await kube.core.deleteCollectionNamespacedPod({ namespace: ns, gracePeriodSeconds: 0 });
}

/** Removes what `applyState` wrote (best effort: a failed clean-up must not hide the test's result). */
export async function removeState(kube: Kube, state: State): Promise<void> {
  for (const ns of state.namespaces) {
    await emptyNamespace(kube, ns).catch(() => undefined);
    await kube.core.deleteNamespace({ name: ns }).catch(() => undefined);
  }
}

async function replaceSlice(kube: Kube, svc: Service, s: Slice): Promise<void> {
  const current = await kube.discovery.readNamespacedEndpointSlice({ namespace: svc.ns, name: s.name });
  await kube.discovery.replaceNamespacedEndpointSlice({ namespace: svc.ns, name: s.name, body: { ...sliceBody(svc, s), metadata: { ...sliceBody(svc, s).metadata, resourceVersion: current.metadata?.resourceVersion } } });
}

/**
 * One round of changes, written through the API and applied to the model: deletes, readiness flips, ExternalName
 * retargets, a removed slice, a new service. Returns one line per change, for the log.
 */
export async function changeState(kube: Kube, state: State, random: Random, round: number): Promise<string[]> {
  const done: string[] = [];
  const some = (filter: (s: Service) => boolean): Service | undefined => {
    const xs = state.services.filter(filter);
    return xs.length ? pick(random, xs) : undefined;
  };
  const gone = some(() => true);
  if (gone) {
    await kube.core.deleteNamespacedService({ namespace: gone.ns, name: gone.name });
    for (const s of gone.slices) await kube.discovery.deleteNamespacedEndpointSlice({ namespace: gone.ns, name: s.name });
    state.services.splice(state.services.indexOf(gone), 1);
    done.push(`deleted ${gone.ns}/${gone.name}`);
  }
  for (let i = 0; i < 3; i++) {
    const svc = some((s) => s.slices.some((sl) => sl.endpoints.length > 0 && sl.endpoints.length < 10));
    if (!svc) break;
    const slice = pick(random, svc.slices.filter((sl) => sl.endpoints.length > 0 && sl.endpoints.length < 10));
    const e = pick(random, slice.endpoints);
    const wasReady = e.ready !== false;
    e.ready = !wasReady;
    if (e.ready) delete e.serving, delete e.terminating;
    await replaceSlice(kube, svc, slice);
    done.push(`${svc.ns}/${slice.name} ${e.addresses[0]} ready=${e.ready}`);
  }
  const ext = some((s) => s.kind === 'external');
  if (ext) {
    ext.externalName = pick(random, EXTERNAL_TARGETS.filter((t) => t !== ext.externalName));
    const current = await kube.core.readNamespacedService({ namespace: ext.ns, name: ext.name });
    current.spec!.externalName = ext.externalName;
    await kube.core.replaceNamespacedService({ namespace: ext.ns, name: ext.name, body: current });
    done.push(`${ext.ns}/${ext.name} -> ${ext.externalName}`);
  }
  const sliced = some((s) => s.slices.length > 0);
  if (sliced) {
    const s = sliced.slices.pop()!;
    await kube.discovery.deleteNamespacedEndpointSlice({ namespace: sliced.ns, name: s.name });
    done.push(`deleted slice ${sliced.ns}/${s.name}`);
  }
  const ns = pick(random, state.namespaces);
  const taken = new Set(state.services.filter((s) => s.ns === ns).map((s) => s.name));
  const name = [`new-${round}`, ...SERVICE_NAMES].find((n) => !taken.has(n))!;
  const added = service(random, ns, name, state.namespaces);
  await createService(kube, added);
  state.services.push(added);
  done.push(`created ${ns}/${name} (${added.kind})`);
  return done;
}
