// Propagation delay: from sending a change to the API server to the first reply that carries it, per server,
// measured by polling every server at once with back-to-back UDP queries (one in flight per server). The clock
// starts just before the request is sent, so the API server's own write (a few ms) is included.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Api } from './api.js';
import { forEachLimited } from './api.js';
import { DnsClient, type Reply, TYPE } from './dns-poll.js';
import { type GenService, serviceBody, sliceEndpoints } from './generate.js';
import type { Server } from './servers.js';

export type ChangeKind = 'service-create' | 'slice-change';
export const PROP_NAMESPACE = 'bench-prop';
/** The label under which the API request's own round trip (sent to response) is recorded. */
export const API_WRITE = 'api-write';
const TIMEOUT_MS = 10_000;

export interface PropagationSamples {
  kind: ChangeKind;
  label: string;
  /** Milliseconds per change that was seen. */
  samples: number[];
  /** Changes not seen within 10 s. */
  missed: number;
}

async function pollUntil(client: DnsClient, name: string, ok: (r: Reply) => boolean, t0: number): Promise<number | undefined> {
  const deadline = t0 + TIMEOUT_MS;
  while (performance.now() < deadline) {
    const r = await client.ask(name, TYPE.A, 250);
    if (r !== undefined && ok(r)) return performance.now() - t0;
  }
  return undefined;
}

async function ensureNamespace(api: Api): Promise<void> {
  try {
    await api.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PROP_NAMESPACE } });
  } catch (err) {
    if ((err as { status?: number }).status !== 409) throw err;
  }
}

let addressCounter = 0;
/** Addresses for changed endpoints: 10.127.0.0/16, never used by the generator. */
const freshAddress = (): string => {
  const k = addressCounter++;
  return `10.127.${(k >> 8) & 255}.${k & 255}`;
};

/**
 * `count` Service creates, then `count` EndpointSlice changes (endpoint 0 of a headless Service gets a new
 * address), one at a time, each polled on every server until it shows. Created Services are deleted afterwards.
 */
export async function measurePropagation(api: Api, servers: Server[], headless: GenService[], count: number, tag: string): Promise<PropagationSamples[]> {
  await ensureNamespace(api);
  const clients = servers.map((s) => new DnsClient(s.port));
  const results: PropagationSamples[] = [];
  for (const kind of ['service-create', 'slice-change'] as const) {
    for (const s of servers) results.push({ kind, label: s.label, samples: [], missed: 0 });
    results.push({ kind, label: API_WRITE, samples: [], missed: 0 });
  }
  const apiWrite = (kind: ChangeKind, ms: number): void => {
    results.find((x) => x.kind === kind && x.label === API_WRITE)!.samples.push(ms);
  };
  const record = (kind: ChangeKind, times: Array<number | undefined>): void => {
    times.forEach((ms, k) => {
      const r = results.find((x) => x.kind === kind && x.label === servers[k]!.label)!;
      if (ms === undefined) r.missed++;
      else r.samples.push(ms);
    });
  };
  const created: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const name = `prop-${tag}-${i}`;
      const fqdn = `${name}.${PROP_NAMESPACE}.svc.cluster.local`;
      const t0 = performance.now();
      const polls = clients.map((c) => pollUntil(c, fqdn, (r) => r.rcode === 0 && r.addresses.length > 0, t0));
      await api.call('POST', `/api/v1/namespaces/${PROP_NAMESPACE}/services`, serviceBody(name, undefined));
      apiWrite('service-create', performance.now() - t0);
      created.push(name);
      record('service-create', await Promise.all(polls));
      await sleep(10);
    }
    for (let i = 0; i < count; i++) {
      const s = headless[i % headless.length]!;
      const fresh = freshAddress();
      const next = [fresh, ...s.endpoints.slice(1)];
      const fqdn = `${s.name}.${s.namespace}.svc.cluster.local`;
      const t0 = performance.now();
      const polls = clients.map((c) => pollUntil(c, fqdn, (r) => r.rcode === 0 && r.addresses.includes(fresh), t0));
      await api.call('PATCH', `/apis/discovery.k8s.io/v1/namespaces/${s.namespace}/endpointslices/${s.sliceName}`,
        { endpoints: sliceEndpoints(next) }, 'application/merge-patch+json');
      apiWrite('slice-change', performance.now() - t0);
      s.endpoints = next;
      record('slice-change', await Promise.all(polls));
      await sleep(10);
    }
  } finally {
    for (const c of clients) c.close();
    await forEachLimited(created.length, 16, async (k) => {
      await api.call('DELETE', `/api/v1/namespaces/${PROP_NAMESPACE}/services/${created[k]}`).catch(() => undefined);
    });
  }
  return results;
}
