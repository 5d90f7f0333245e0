// The webhook's admission handling (AdmissionReview v1 in and out, bad input, counters) and its HTTPS server
// (routes, body cap, health and readiness, TLS reload), in-process over loopback.
import { eventually } from '../helpers/eventually.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { makeCA, makeServingCert, type KeyPair } from '../../src/certs/x509.js';
import { ClusterState } from '../../src/cluster/state.js';
import type { EnvPolicy } from '../../src/env/pod-env.js';
import { silentLogger } from '../../src/base/log.js';
import { applyObject } from '../../src/sources/apply.js';
import { loadManifests } from '../../src/sources/manifests.js';
import { type AdmitContext, NOT_SYNCED_WARNING, admit, newCounters } from '../../src/webhook/admit.js';
import { listenWebhook, type WebhookServer } from '../../src/webhook/server.js';
import { watchTlsPair } from '../../src/webhook/tls-files.js';

const POLICY: EnvPolicy = { neverMutate: ['kube-system', 'cluster-dns'], maxEnvBytes: 32 * 1024, envFromContainers: 'skip', serviceLinks: 'pod' };

function context(synced = true): AdmitContext {
  const state = new ClusterState(true);
  for (const { kind, object } of loadManifests('examples', () => {})) applyObject(state, kind, object);
  return { cluster: state, policy: POLICY, synced: () => synced, counters: newCounters(), log: silentLogger };
}

function review(overrides: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'demo',
      operation: 'CREATE',
      userInfo: { username: 'admin' },
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-' }, spec: { containers: [{ name: 'app', image: 'x' }] } },
      oldObject: null,
      dryRun: false,
      ...overrides,
    },
    ...top,
  };
}

const body = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
type Response = { uid: string; allowed: boolean; patchType?: string; patch?: string; warnings?: string[]; status?: { code: number; message: string } };
const responseOf = (b: Record<string, unknown>): Response => b['response'] as Response;

describe('webhook: admission reviews', () => {
  it('a Pod CREATE: 200, the same apiVersion and kind, the uid, allowed, a base64 JSONPatch of add operations', () => {
    const ctx = context();
    const answer = admit(body(review()), ctx);
    assert.equal(answer.status, 200);
    assert.equal(answer.body['apiVersion'], 'admission.k8s.io/v1');
    assert.equal(answer.body['kind'], 'AdmissionReview');
    const r = responseOf(answer.body);
    assert.equal(r.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
    assert.equal(r.allowed, true);
    assert.equal(r.patchType, 'JSONPatch');
    const ops = JSON.parse(Buffer.from(r.patch!, 'base64').toString()) as Array<{ op: string; path: string; value: Array<{ name: string }> }>;
    assert.deepEqual(ops.map((o) => [o.op, o.path]), [['add', '/spec/containers/0/env']]);
    assert.ok(ops[0]!.value.some((v) => v.name === 'WEB_SERVICE_HOST'));
    assert.equal(r.warnings, undefined);
    assert.equal(ctx.counters.injected, 1);
  });

  const bad: Array<[string, Buffer, RegExp, string]> = [
    ['not JSON', body('{"apiVersion": '), /^body is not JSON/, ''],
    ['a JSON array', body('[1,2]'), /^body is not a JSON object$/, ''],
    ['not an AdmissionReview', body(review({}, { kind: 'TokenReview' })), /^kind "TokenReview" is not AdmissionReview$/, '705ab4f5-6393-11e8-b7cc-42010a800002'],
    ['another version', body(review({}, { apiVersion: 'admission.k8s.io/v1beta1' })), /^apiVersion "admission.k8s.io\/v1beta1" is not served: want admission.k8s.io\/v1$/, '705ab4f5-6393-11e8-b7cc-42010a800002'],
    ['no request', body({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), /^request is missing$/, ''],
    ['no uid', body(review({ uid: '' })), /^request.uid is missing$/, ''],
    ['a Pod CREATE without the pod', body(review({ object: null })), /^request.object is not a Pod$/, '705ab4f5-6393-11e8-b7cc-42010a800002'],
    ['containers that are not a list', body(review({ object: { spec: { containers: { name: 'x' } } } })), /spec.containers is not a list of containers/, '705ab4f5-6393-11e8-b7cc-42010a800002'],
    ['env that is not a list', body(review({ object: { spec: { containers: [{ name: 'x', env: 'A=b' }] } } })), /env of "x" is not a list of variables/, '705ab4f5-6393-11e8-b7cc-42010a800002'],
  ];
  for (const [what, input, reason, uid] of bad) {
    it(`${what}: 400 with the reason${uid ? ', uid echoed' : ''}`, () => {
      const ctx = context();
      const answer = admit(input, ctx);
      assert.equal(answer.status, 400);
      const r = responseOf(answer.body);
      assert.match(r.status!.message, reason);
      assert.equal(r.status!.code, 400);
      assert.equal(r.uid, uid);
      assert.equal(ctx.counters.badRequests, 1);
    });
  }

  const others: Array<[string, Record<string, unknown>]> = [
    ['a Pod UPDATE', { operation: 'UPDATE', oldObject: {} }],
    ['a Pod DELETE', { operation: 'DELETE', object: null }],
    ['a Service CREATE', { kind: { group: '', version: 'v1', kind: 'Service' }, resource: { group: '', version: 'v1', resource: 'services' } }],
    ['a pods/binding CREATE', { subResource: 'binding', kind: { group: '', version: 'v1', kind: 'Binding' } }],
    ['a pods/ephemeralcontainers UPDATE', { subResource: 'ephemeralcontainers', operation: 'UPDATE' }],
    ['a Deployment CREATE', { kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' } }],
  ];
  for (const [what, overrides] of others) {
    it(`${what}: 200, allowed, no patch`, () => {
      const ctx = context();
      const answer = admit(body(review(overrides)), ctx);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body['response'], { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
      assert.equal(ctx.counters.ignored, 1);
    });
  }

  it('before the first sync: allowed, no patch, a warning', () => {
    const ctx = context(false);
    const r = responseOf(admit(body(review()), ctx).body);
    assert.equal(r.patch, undefined);
    assert.deepEqual(r.warnings, [NOT_SYNCED_WARNING]);
    assert.equal(ctx.counters.notSynced, 1);
  });

  it('oversized: allowed, no patch, the warning, counted', () => {
    const ctx = { ...context(), policy: { ...POLICY, maxEnvBytes: 100 } };
    const r = responseOf(admit(body(review()), ctx).body);
    assert.equal(r.patch, undefined);
    assert.match(r.warnings![0]!, /over the limit of 100/);
    assert.equal(ctx.counters.oversized, 1);
  });

  it('the namespace comes from the request (a controller-made pod has none in metadata yet)', () => {
    const ctx = context();
    const r = responseOf(admit(body(review({ namespace: 'kube-system' })), ctx).body);
    assert.equal(r.patch, undefined);
    assert.equal(ctx.counters.skipped, 1);
  });

  it('never throws: 3000 mutated reviews answer 200 or 400, with the uid whenever the request carries one', () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const junk = [null, 0, -1, 'x', '', true, [], {}, [{}], { name: 1 }, [null], 1e309, { env: null }, { containers: [null] }];
    const paths = ['request', 'request.object', 'request.object.spec', 'request.object.spec.containers', 'request.object.spec.containers.0', 'request.object.spec.containers.0.env', 'request.object.metadata', 'request.object.metadata.annotations', 'request.kind', 'request.namespace', 'request.operation', 'request.object.spec.initContainers', 'request.object.spec.enableServiceLinks', 'apiVersion', 'kind'];
    const ctx = context();
    for (let i = 0; i < 3000; i++) {
      const doc = review({ object: { metadata: { annotations: {} }, spec: { containers: [{ name: 'a', env: [{ name: 'A' }] }], initContainers: [] } } });
      for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
        const parts = paths[Math.floor(random() * paths.length)]!.split('.');
        let at: Record<string, unknown> = doc;
        for (const p of parts.slice(0, -1)) {
          const next = at[p];
          if (next === null || typeof next !== 'object') break;
          at = next as Record<string, unknown>;
        }
        at[parts[parts.length - 1]!] = structuredClone(junk[Math.floor(random() * junk.length)]);
      }
      const answer = admit(body(doc), ctx);
      assert.ok(answer.status === 200 || answer.status === 400, `${answer.status} for ${JSON.stringify(doc)}: ${JSON.stringify(answer.body)}`);
      const request = doc['request'] as { uid?: unknown } | null;
      const uid = request !== null && typeof request === 'object' && typeof request.uid === 'string' ? request.uid : '';
      assert.equal(responseOf(answer.body).uid, uid);
    }
    assert.equal(ctx.counters.errors, 0);
  });
});

// --- HTTPS ---------------------------------------------------------------------------------------------------------

function pair(ca: KeyPair): KeyPair {
  const now = Date.now();
  return makeServingCert(ca, ['127.0.0.1', 'localhost'], { notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) });
}

interface Reply {
  status: number;
  text: string;
  fingerprint: string;
}

function request(port: number, ca: string, method: string, urlPath: string, payload?: Buffer, headers: Record<string, string | number> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path: urlPath, ca, agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), fingerprint: (res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '' }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('webhook: HTTPS server', () => {
  const now = Date.now();
  const ca = makeCA({ commonName: 'test CA', notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) });
  let server: WebhookServer;
  let ready = false;
  const ctx = context();

  before(async () => {
    const tls = pair(ca);
    server = await listenWebhook({ host: '127.0.0.1', port: 0, tls: { cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) }, review: (b) => admit(b, ctx), ready: () => ready, log: silentLogger, maxBodyBytes: 64 * 1024 });
  });
  after(() => server.close());

  it('POST /mutate (with the ?timeout the API server appends) answers the review', async () => {
    const r = await request(server.address.port, ca.cert, 'POST', '/mutate?timeout=10s', body(review()));
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.text) as { response: Response }).response.patchType, 'JSONPatch');
  });

  it('a body over the cap: 400 with the reason, by Content-Length or by what arrives', async () => {
    const big = Buffer.alloc(100 * 1024, 0x20);
    const declared = await request(server.address.port, ca.cert, 'POST', '/mutate', big);
    assert.equal(declared.status, 400);
    assert.match(declared.text, /body larger than 65536 bytes/);
    const chunked = await request(server.address.port, ca.cert, 'POST', '/mutate', big, { 'transfer-encoding': 'chunked' });
    assert.equal(chunked.status, 400);
    assert.match(chunked.text, /body larger than 65536 bytes/);
  });

  it('/healthz answers; /readyz only after the first sync', async () => {
    assert.equal((await request(server.address.port, ca.cert, 'GET', '/healthz')).status, 200);
    ready = false;
    assert.equal((await request(server.address.port, ca.cert, 'GET', '/readyz')).status, 503);
    ready = true;
    assert.equal((await request(server.address.port, ca.cert, 'GET', '/readyz')).status, 200);
  });

  it('wrong method 405, unknown path 404', async () => {
    assert.equal((await request(server.address.port, ca.cert, 'GET', '/mutate')).status, 405);
    assert.equal((await request(server.address.port, ca.cert, 'GET', '/nope')).status, 404);
  });

  it('a bad body over HTTPS is a 400, and the server keeps answering', async () => {
    const r = await request(server.address.port, ca.cert, 'POST', '/mutate', body('nope'));
    assert.equal(r.status, 400);
    assert.match(r.text, /body is not JSON/);
    assert.equal((await request(server.address.port, ca.cert, 'GET', '/healthz')).status, 200);
  });

  it('reloads the certificate when the files change; keeps the old one while the new pair does not match', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-tls-'));
    const files = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
    const first = pair(ca);
    fs.writeFileSync(files.cert, first.cert);
    fs.writeFileSync(files.key, first.key);
    server.setTls({ cert: Buffer.from(first.cert), key: Buffer.from(first.key) });
    const watch = watchTlsPair(files, { cert: Buffer.from(first.cert), key: Buffer.from(first.key) }, (p) => server.setTls(p), silentLogger, 200);
    try {
      const fp = (pem: string): string => new X509Certificate(pem).fingerprint256;
      assert.equal((await request(server.address.port, ca.cert, 'GET', '/healthz')).fingerprint, fp(first.cert));
      // half a rotation: a new certificate, the old key
      const second = pair(ca);
      fs.writeFileSync(files.cert, second.cert);
      await new Promise((r) => setTimeout(r, 600));
      assert.equal((await request(server.address.port, ca.cert, 'GET', '/healthz')).fingerprint, fp(first.cert));
      // the rotation completes
      fs.writeFileSync(files.key, second.key);
      await eventually(3000, 'the new certificate is served', async () => (await request(server.address.port, ca.cert, 'GET', '/healthz')).fingerprint === fp(second.cert), 50);
    } finally {
      watch.stop();
    }
  });
});

describe('webhook: /metrics', () => {
  it('exports the admission counters by outcome, in Prometheus text', async () => {
    const { createWebhookRegistry } = await import('../../src/ops/metrics.js');
    const { parsePrometheus, sample } = await import('../helpers/prometheus.js');
    const now = Date.now();
    const ca = makeCA({ commonName: 'metrics test CA', notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) });
    const tls = pair(ca);
    const ctx = context();
    const registry = createWebhookRegistry(() => ({ ...ctx.counters }));
    const server = await listenWebhook({
      host: '127.0.0.1',
      port: 0,
      tls: { cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) },
      review: (b) => admit(b, ctx),
      ready: () => true,
      metrics: { text: () => registry.metrics(), contentType: registry.contentType },
      log: silentLogger,
    });
    try {
      await request(server.address.port, ca.cert, 'POST', '/mutate', Buffer.from(JSON.stringify(review())));
      await request(server.address.port, ca.cert, 'POST', '/mutate', Buffer.from('not json'));
      const r = await request(server.address.port, ca.cert, 'GET', '/metrics');
      assert.equal(r.status, 200);
      const m = parsePrometheus(r.text);
      assert.equal(sample(m, 'cluster_dns_webhook_admissions_total', { outcome: 'badRequests' }), 1);
      assert.equal(sample(m, 'cluster_dns_webhook_admissions_total', { outcome: 'injected' }) + sample(m, 'cluster_dns_webhook_admissions_total', { outcome: 'unchanged' }) + sample(m, 'cluster_dns_webhook_admissions_total', { outcome: 'skipped' }), 1);
      assert.ok(sample(m, 'process_resident_memory_bytes') > 0);
    } finally {
      await server.close();
    }
  });
});
