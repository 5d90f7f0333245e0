// The generated cluster: N selectorless Services spread over namespaces of 100, a tenth of them headless, each
// with one hand-written EndpointSlice (labelled kubernetes.io/service-name, as the EndpointSlice controller would
// write it): 3 ready endpoints behind a ClusterIP Service, 10 behind a headless one. Everything is a pure
// function of the Service's number, so growing from 1,000 to 10,000 Services only creates the difference.
// Cluster IPs are given, not allocated: on the test API server (v1.35, IPAddress-based allocator) a create that
// asks for a free address costs about half the CPU of one that lets the allocator pick, and that cost grows
// with the number of Services. A given address that is taken (HTTP 422) falls back to allocation.
import { Api, ApiError, forEachLimited } from './api.js';

export const SERVICES_PER_NAMESPACE = 100;
export const HEADLESS_ENDPOINTS = 10;
export const CLUSTERIP_ENDPOINTS = 3;
export const PORT_NAME = 'http';

export interface GenService {
  i: number;
  namespace: string;
  name: string;
  headless: boolean;
  /** Allocated by the API server (ClusterIP Services). */
  clusterIP?: string;
  endpoints: string[];
  sliceName: string;
}

export interface GeneratedCluster {
  services: GenService[];
  namespaces: string[];
}

export const namespaceOf = (i: number): string => `bench-${Math.floor(i / SERVICES_PER_NAMESPACE)}`;
export const isHeadless = (i: number): boolean => i % 10 === 9;

/** Endpoint j of Service i: a unique address in 10.128.0.0/9. */
export function endpointIP(i: number, j: number): string {
  const e = i * 10 + j;
  return `10.${128 + (e >> 16)}.${(e >> 8) & 255}.${e & 255}`;
}

/** The cluster IP asked for Service i: 10.96.16.0 upwards (the test API server's range is 10.96.0.0/16). */
export function clusterIPFor(i: number): string {
  return `10.96.${16 + (i >> 8)}.${i & 255}`;
}

export function describeService(i: number): GenService {
  const headless = isHeadless(i);
  const count = headless ? HEADLESS_ENDPOINTS : CLUSTERIP_ENDPOINTS;
  const name = `svc-${i}`;
  return {
    i,
    namespace: namespaceOf(i),
    name,
    headless,
    endpoints: Array.from({ length: count }, (_, j) => endpointIP(i, j)),
    sliceName: `${name}-bench`,
  };
}

/** A selectorless Service; `clusterIP` 'None' is headless, undefined lets the API server allocate one. */
export function serviceBody(name: string, clusterIP: string | undefined): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: {
      type: 'ClusterIP',
      ...(clusterIP === undefined ? {} : { clusterIP }),
      ports: [{ name: PORT_NAME, port: 80, targetPort: 8080, protocol: 'TCP' }],
    },
  };
}

export function sliceBody(service: string, sliceName: string, addresses: string[]): unknown {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: sliceName,
      labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'bench.cluster-dns.io' },
    },
    addressType: 'IPv4',
    endpoints: sliceEndpoints(addresses),
    ports: [{ name: PORT_NAME, port: 8080, protocol: 'TCP' }],
  };
}

export function sliceEndpoints(addresses: string[]): unknown[] {
  return addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1' }));
}

async function createNamespace(api: Api, name: string): Promise<void> {
  try {
    await api.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err;
  }
}

/**
 * Creates Services [from, to) (and their namespaces and slices) with at most `concurrency` requests in flight
 * each way; appends them to `cluster`.
 */
export async function growCluster(api: Api, cluster: GeneratedCluster, to: number, concurrency = 48): Promise<void> {
  const from = cluster.services.length;
  if (to <= from) return;
  const namespaces = new Set<string>();
  for (let i = from; i < to; i++) namespaces.add(namespaceOf(i));
  const fresh = [...namespaces].filter((ns) => !cluster.namespaces.includes(ns));
  await forEachLimited(fresh.length, concurrency, (k) => createNamespace(api, fresh[k]!));
  cluster.namespaces.push(...fresh);
  const created: GenService[] = new Array<GenService>(to - from);
  await forEachLimited(to - from, concurrency, async (k) => {
    const s = describeService(from + k);
    const path = `/api/v1/namespaces/${s.namespace}/services`;
    const createService = (ip: string | undefined): Promise<{ spec?: { clusterIP?: string } }> => api.call('POST', path, serviceBody(s.name, ip));
    const [svc] = await Promise.all([
      createService(s.headless ? 'None' : clusterIPFor(s.i)).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 422 && !s.headless) return createService(undefined); // address taken
        throw err;
      }),
      api.call('POST', `/apis/discovery.k8s.io/v1/namespaces/${s.namespace}/endpointslices`, sliceBody(s.name, s.sliceName, s.endpoints)),
    ]);
    if (!s.headless) s.clusterIP = svc.spec?.clusterIP;
    created[k] = s;
  });
  cluster.services.push(...created);
}
