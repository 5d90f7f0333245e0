// Protobuf and JSON from the real API server give the same minimal objects: every kind DNS watches, listed and
// then changed under a watch, read once in each encoding side by side. A page whose bytes are broken fails with
// the item and the reason.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { createTestNamespace, getControlPlane, kubeConfigFor, type ControlPlane } from '../cluster/root-hooks.js';
import { eventually } from '../helpers/eventually.js';
import { Kube } from '../helpers/kube.js';
import { silentLogger } from '../../src/base/log.js';
import type { ObjectKind } from '../../src/cluster/objects.js';
import { loadApiClient } from '../../src/kube/client.js';
import type { ApiClient } from '../../src/kube/api-client.js';
import { type ApiObject, toEndpointSlice, toNamespace, toPod, toPodAddress, toService } from '../../src/kube/convert.js';
import { type ApiEncoding, DEFAULT_LIST_WATCH, decodeProtobufPage, type InitialList, ListWatch } from '../../src/kube/list-watch.js';
import { PROTOBUF_MEDIA_TYPE } from '../../src/kube/proto-objects.js';
import { fields } from '../../src/kube/protobuf.js';

const PATHS: Record<ObjectKind, string> = {
  Service: '/api/v1/services',
  EndpointSlice: '/apis/discovery.k8s.io/v1/endpointslices',
  Namespace: '/api/v1/namespaces',
  Pod: '/api/v1/pods',
};

/** What the server keeps of an object of each kind: the conversions, plus the labels the metrics read. */
function minimal(kind: ObjectKind, o: ApiObject): unknown {
  switch (kind) {
    case 'Service':
      return toService(o);
    case 'EndpointSlice':
      return { slice: toEndpointSlice(o), labels: o.metadata?.labels };
    case 'Namespace':
      return toNamespace(o);
    case 'Pod':
      return { pod: toPod(o), address: toPodAddress(o) };
  }
}

const keyOf = (o: ApiObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** One ListWatch of `kind` in `encoding`, keeping the minimal form of every object it holds now. */
class Mirror {
  readonly objects = new Map<string, unknown>();
  readonly watch: ListWatch;
  constructor(client: ApiClient, kind: ObjectKind, encoding: ApiEncoding, initialList: InitialList) {
    this.watch = new ListWatch(
      client,
      PATHS[kind],
      {
        page: (items, first) => {
          if (first) this.objects.clear();
          for (const o of items) this.objects.set(keyOf(o), minimal(kind, o));
        },
        upsert: (o) => this.objects.set(keyOf(o), minimal(kind, o)),
        remove: (o) => this.objects.delete(keyOf(o)),
      },
      silentLogger,
      { ...DEFAULT_LIST_WATCH, pageSize: 3, encoding, initialList }, // small pages: continue tokens in both encodings
    );
    this.watch.start();
  }

  /** Our test namespaces' objects (other suites' objects come and go meanwhile), sorted by key. */
  mine(prefix: string): Array<[string, unknown]> {
    return [...this.objects].filter(([k]) => k.includes(prefix)).sort(([a], [b]) => (a < b ? -1 : 1));
  }
}

function rawGet(client: ApiClient, path: string, accept: string): Promise<Buffer> {
  return client.requestOptions().then(
    (base) =>
      new Promise((resolve, reject) => {
        const req = request(new URL(path, client.server), { ...base, headers: { ...(base.headers ?? {}), accept } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      }),
  );
}

/** The first length-delimited field `n` in buf[start, end): where its one-byte key is, and its value's bounds. */
function lengthField(buf: Buffer, start: number, end: number, n: number): { keyAt: number; start: number; end: number } {
  for (const f of fields(buf, start, end)) {
    if (f.fieldNumber !== n || f.wireType !== 2) continue;
    const keyAt = f.r.pos - 1;
    const [s, e] = f.r.span();
    return { keyAt, start: s, end: e };
  }
  throw new Error(`no field ${n}`);
}

describe('API encodings: protobuf and JSON give the same objects', function () {
  this.timeout(60_000);
  let cp: ControlPlane;
  let kube: Kube;
  let client: ApiClient;
  let ns: string;
  /** Per kind: protobuf and JSON streamed as initial events (the default), and protobuf read in pages. */
  const mirrors: Array<{ kind: ObjectKind; protobuf: Mirror; json: Mirror; pages: Mirror }> = [];

  before(async function () {
    this.timeout(180_000);
    cp = await getControlPlane();
    kube = new Kube(kubeConfigFor(cp));
    client = await loadApiClient(cp.kubeconfigPath);
    ns = await createTestNamespace(cp, 'enc');
    await kube.core.createNamespace({ body: { metadata: { name: `${ns}-labelled`, labels: { 'cluster-dns.io/inject-env': 'off' } } } });
    await kube.createService(ns, 'web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] });
    await kube.createService(ns, 'db', { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] });
    await kube.createService(ns, 'bare', { clusterIP: 'None' });
    await kube.createService(ns, 'ext', { type: 'ExternalName', externalName: 'www.example.com' });
    await kube.discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: {
        metadata: { name: 'bare-v4', labels: { 'kubernetes.io/service-name': 'bare' }, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-12-01T10:00:00Z' } },
        addressType: 'IPv4',
        endpoints: [
          { addresses: ['10.1.0.1'], hostname: 'first', targetRef: { kind: 'Pod', namespace: ns, name: 'Pod-A' } },
          { addresses: ['10.1.0.2'], conditions: { ready: false, serving: true, terminating: true } },
          { addresses: ['10.1.0.3'], conditions: { ready: true } },
        ],
        ports: [{ name: 'x', port: 1234, protocol: 'UDP' }, { name: 'noport' }],
      },
    });
    await kube.discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: { metadata: { name: 'bare-v6', labels: { 'kubernetes.io/service-name': 'bare' } }, addressType: 'IPv6', endpoints: [{ addresses: ['fd00::1'] }], ports: [] },
    });
    await kube.createReadyPod(ns, 'web-1', '10.2.0.1', { labels: { app: 'web' } });
    await kube.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'hostnet' },
        spec: { nodeName: 'node-1', hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet', dnsConfig: { searches: ['a.example'] }, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
      },
    });
    await kube.setPodStatus(ns, 'hostnet', '127.0.0.1', true);
    // The EndpointSlice controller writes web's and db's slices (web-1 is ready): wait for them, so both
    // encodings list the same settled state.
    await eventually(20_000, 'controller slices', async () => {
      const slices = await kube.discovery.listNamespacedEndpointSlice({ namespace: ns });
      return slices.items.some((s) => s.metadata?.labels?.['kubernetes.io/service-name'] === 'web' && (s.endpoints ?? []).length === 1);
    });
    for (const kind of ['Service', 'EndpointSlice', 'Namespace', 'Pod'] as const) {
      mirrors.push({ kind, protobuf: new Mirror(client, kind, 'protobuf', 'stream'), json: new Mirror(client, kind, 'json', 'stream'), pages: new Mirror(client, kind, 'protobuf', 'pages') });
    }
    await Promise.all(mirrors.flatMap((m) => [m.protobuf.watch.whenSynced(), m.json.watch.whenSynced(), m.pages.watch.whenSynced()]));
  });
  after(() => {
    for (const m of mirrors) {
      m.protobuf.watch.stop();
      m.json.watch.stop();
      m.pages.watch.stop();
    }
  });

  it('lists every kind in protobuf when asked, and in JSON when asked; streamed as initial events unless asked for pages', () => {
    for (const m of mirrors) {
      assert.equal(m.protobuf.watch.status.encoding, 'protobuf', m.kind);
      assert.equal(m.json.watch.status.encoding, 'json', m.kind);
      assert.equal(m.pages.watch.status.encoding, 'protobuf', m.kind);
      assert.deepEqual([m.protobuf.watch.status.initialList, m.json.watch.status.initialList, m.pages.watch.status.initialList], ['stream', 'stream', 'pages'], m.kind);
    }
  });

  it('gives the same minimal objects for every Service, EndpointSlice, Namespace and Pod', () => {
    for (const m of mirrors) {
      const mine = m.json.mine(ns);
      assert.ok(mine.length > 0, `${m.kind}: nothing of ${ns} listed`);
      assert.deepEqual(m.protobuf.mine(ns), mine, m.kind);
      assert.deepEqual(m.pages.mine(ns), mine, `${m.kind} in pages`);
    }
    const pods = mirrors.find((m) => m.kind === 'Pod')!.protobuf.objects;
    const hostnet = pods.get(`${ns}/hostnet`) as { address: { hostNetwork: boolean; clusterFirstSearch: boolean; writtenAt: number } };
    assert.equal(hostnet.address.hostNetwork, true);
    assert.equal(hostnet.address.clusterFirstSearch, false);
    assert.ok(Number.isFinite(hostnet.address.writtenAt), 'managedFields times decoded');
  });

  it('follows changes under the watch identically: create, update, delete', async () => {
    await kube.createService(ns, 'later', { ports: [{ name: 'p', port: 9, protocol: 'SCTP' }] });
    await kube.discovery.replaceNamespacedEndpointSlice({
      namespace: ns,
      name: 'bare-v6',
      body: { metadata: { name: 'bare-v6', labels: { 'kubernetes.io/service-name': 'bare' } }, addressType: 'IPv6', endpoints: [{ addresses: ['fd00::2'], hostname: 'six' }], ports: [{ port: 7 }] },
    });
    await kube.core.deleteNamespacedService({ namespace: ns, name: 'ext' });
    await kube.core.patchNamespace({ name: `${ns}-labelled`, body: [{ op: 'replace', path: '/metadata/labels/cluster-dns.io~1inject-env', value: 'on' }] });
    await eventually(10_000, 'both encodings saw the changes', async () =>
      mirrors.every((m) => {
        const seen = m.protobuf.objects;
        if (m.kind === 'Service') return seen.has(`${ns}/later`) && !seen.has(`${ns}/ext`);
        if (m.kind === 'EndpointSlice') return (seen.get(`${ns}/bare-v6`) as { slice: { endpoints: Array<{ hostname?: string }> } } | undefined)?.slice.endpoints[0]?.hostname === 'six';
        if (m.kind === 'Namespace') return (seen.get(`/${ns}-labelled`) as { injectEnv?: string } | undefined)?.injectEnv === 'on';
        return true;
      }),
    );
    const same = (m: (typeof mirrors)[number]): boolean => JSON.stringify(m.protobuf.mine(ns)) === JSON.stringify(m.json.mine(ns)) && JSON.stringify(m.protobuf.mine(ns)) === JSON.stringify(m.pages.mine(ns));
    await eventually(5_000, 'JSON and paged watches caught up', async () => mirrors.every(same));
    for (const m of mirrors) {
      assert.deepEqual(m.protobuf.mine(ns), m.json.mine(ns), m.kind);
      assert.deepEqual(m.pages.mine(ns), m.json.mine(ns), `${m.kind} in pages`);
      assert.equal(m.protobuf.watch.status.encoding, 'protobuf', `${m.kind} watch`);
    }
  });

  it('fails a page with broken bytes with the item, its name and the reason; a cut page with where it ends', async () => {
    const body = await rawGet(client, `/api/v1/namespaces/${ns}/services`, PROTOBUF_MEDIA_TYPE);
    assert.ok([...decodeProtobufPage('/x', body).items].length > 0);
    // The list's items (field 2 of the ServiceList in the envelope's raw): break the first item's spec key
    // into a group start (wire type 3), which no Kubernetes message uses.
    const raw = lengthField(body, 4, body.length, 2);
    const firstItem = lengthField(body, raw.start, raw.end, 2);
    const specKeyAt = lengthField(body, firstItem.start, firstItem.end, 2).keyAt;
    const broken = Buffer.from(body);
    broken[specKeyAt] = (2 << 3) | 3;
    const page = decodeProtobufPage('/api/v1/services', broken); // the framing is intact: items fail when reached
    assert.throws(() => [...page.items], (err: Error) => {
      assert.match(err.message, new RegExp(`^GET /api/v1/services: undecodable protobuf list page \\(\\d+ bytes\\): items\\[0\\] \\(${ns}/\\w+\\): spec \\(field 2\\) has wire type 3, expected 2$`));
      return true;
    });
    // Cut short, the envelope's own length already says so.
    assert.throws(() => decodeProtobufPage('/api/v1/services', body.subarray(0, body.length - 20)), /undecodable protobuf list page \(\d+ bytes\): length \d+ at byte \d+ runs past the end of its message/);
    assert.throws(() => decodeProtobufPage('/api/v1/services', Buffer.from('{"items":[]}')), /no "k8s\\0" prefix/);
  });
});
