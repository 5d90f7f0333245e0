// The answer table of the cluster zone, checked at the handler (rcode + sections as zone-file lines), over a
// small fixed cluster (test/helpers/fake-cluster.ts: the demo's objects, written out) plus a few objects each
// case needs. Expectations follow CoreDNS's kubernetes
// plugin (docs/dns-behaviour.md); the conformance suite checks the same against a running CoreDNS.
import assert from 'node:assert/strict';
import { RCODE_NAMES, RRType } from '../../src/dns/constants.js';
import { decodeQuery } from '../../src/dns/decode.js';
import type { Reply } from '../../src/dns/message.js';
import type { ObjectKind } from '../../src/cluster/objects.js';
import type { ApiObject } from '../../src/kube/convert.js';
import { ClusterHandler, type ClusterHandlerOptions } from '../../src/resolve/cluster.js';
import { PASS } from '../../src/resolve/handler.js';
import { rrText } from '../../src/resolve/zone-file.js';
import { buildQuery } from '../helpers/dns-client.js';
import { fixedCluster } from '../helpers/fake-cluster.js';

const EXTRA: Array<[ObjectKind, ApiObject]> = [
  // A headless service whose only endpoint is not ready: NXDOMAIN, like a missing one.
  ['Service', { metadata: { name: 'drained', namespace: 'demo' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] } }],
  ['EndpointSlice', { metadata: { name: 'drained-1', namespace: 'demo', labels: { 'kubernetes.io/service-name': 'drained' } }, endpoints: [{ addresses: ['10.244.9.9'], conditions: { ready: false } }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }],
  // A headless service without ports: addresses, but no SRV (CoreDNS's -1 port sentinel).
  ['Service', { metadata: { name: 'portless', namespace: 'demo' }, spec: { clusterIP: 'None' } }],
  ['EndpointSlice', { metadata: { name: 'portless-1', namespace: 'demo', labels: { 'kubernetes.io/service-name': 'portless' } }, endpoints: [{ addresses: ['10.244.8.1'] }] }],
  // An ExternalName that is an IP address is not served.
  ['Service', { metadata: { name: 'ipname', namespace: 'demo' }, spec: { type: 'ExternalName', externalName: '1.2.3.4' } }],
  ['Pod', { metadata: { name: 'p1', namespace: 'demo' }, status: { phase: 'Running', podIP: '10.244.1.77' } }],
  // Three pods with one IP (as host-network pods of a node have), one of them in another namespace.
  ['Pod', { metadata: { name: 'h1', namespace: 'demo' }, status: { phase: 'Running', podIP: '10.244.1.88' } }],
  ['Pod', { metadata: { name: 'h2', namespace: 'demo' }, status: { phase: 'Running', podIP: '10.244.1.88' } }],
  ['Pod', { metadata: { name: 'h3', namespace: 'demo' }, status: { phase: 'Running', podIP: '10.244.1.88' } }],
  ['Pod', { metadata: { name: 'h4', namespace: 'default' }, status: { phase: 'Running', podIP: '10.244.1.88' } }],
];

function setup(over: Partial<ClusterHandlerOptions> = {}, build: { ignoreEmptyService?: boolean; endpointPodNames?: boolean } = {}) {
  const { state, records } = fixedCluster(EXTRA, build);
  const handler = new ClusterHandler(records, { zones: ['cluster.local'], ttl: 5, pods: 'insecure', localIPs: [], synced: () => true, fallthrough: [], ...over });
  return { state, records, handler };
}

interface Seen {
  rcode: string;
  answer: string[];
  authority: string[];
  additional: string[];
}

async function ask(handler: ClusterHandler, name: string, type: number, edns = false): Promise<Seen | typeof PASS> {
  const decoded = decodeQuery(buildQuery(name, type, edns ? { edns: 1232 } : {}));
  assert.equal(decoded.kind, 'query');
  if (decoded.kind !== 'query') throw new Error('unreachable');
  const reply = (await handler.handle(decoded.query)) as Reply | typeof PASS;
  if (reply === PASS) return PASS;
  return {
    rcode: RCODE_NAMES[reply.rcode]!,
    answer: reply.answer.map(rrText).map(tidy),
    authority: reply.authority.map(rrText).map(tidy),
    additional: reply.additional.map(rrText).map(tidy),
  };
}

/** zone-file line with single spaces and the serial masked, for readable expectations. */
const tidy = (l: string): string => l.replace(/\t/g, ' ').replace(/(SOA \S+ \S+ )\d+/, '$1SERIAL');

const SOA = 'cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. SERIAL 7200 1800 86400 5';
const SOA_V4 = 'in-addr.arpa. 5 IN SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa. SERIAL 7200 1800 86400 5';
const NODATA: Seen = { rcode: 'NOERROR', answer: [], authority: [SOA], additional: [] };
const NXDOMAIN: Seen = { rcode: 'NXDOMAIN', answer: [], authority: [SOA], additional: [] };
const ok = (answer: string[], additional: string[] = []): Seen => ({ rcode: 'NOERROR', answer, authority: [], additional });

const { A, AAAA, CNAME, MX, NS, PTR, SOA: SOA_T, SRV, TXT, HINFO, AXFR } = RRType;
const Z = 'cluster.local';

// [name, type, expected]; sets compared in order-insensitive form.
const TABLE: Array<[string, number, Seen]> = [
  // apex and apex-like names
  [Z, A, NODATA],
  [Z, HINFO, NODATA],
  [Z, TXT, NXDOMAIN],
  [Z, SOA_T, ok([SOA])],
  [Z, NS, NODATA], // no non-loopback address of ours: CoreDNS has no NS data either
  [`svc.${Z}`, A, NODATA],
  [`pod.${Z}`, A, NODATA],
  [`svc.${Z}`, TXT, NXDOMAIN],
  [`foo.${Z}`, A, NXDOMAIN],
  [`foo.${Z}`, NS, NXDOMAIN],
  [`foo.${Z}`, SOA_T, NODATA], // SOA on any non-apex name is NODATA, even when it does not exist
  [`dns-version.${Z}`, TXT, ok([`dns-version.${Z}. 28800 IN TXT "1.1.0"`])],
  [`dns-version.${Z}`, A, NXDOMAIN],
  // namespaces
  [`demo.svc.${Z}`, A, NODATA],
  [`demo.svc.${Z}`, TXT, NXDOMAIN],
  [`missing.svc.${Z}`, A, NXDOMAIN],
  [`web.missing.svc.${Z}`, A, NXDOMAIN],
  // ClusterIP
  [`web.demo.svc.${Z}`, A, ok([`web.demo.svc.${Z}. 5 IN A 10.96.100.10`])],
  [`web.demo.svc.${Z}`, AAAA, NODATA],
  [`web.demo.svc.${Z}`, TXT, NODATA],
  [`web.demo.svc.${Z}`, MX, NODATA],
  [`web.demo.svc.${Z}`, CNAME, NODATA],
  [`web.demo.svc.${Z}`, HINFO, NODATA],
  [`web.demo.svc.${Z}`, PTR, NODATA],
  [`web.demo.svc.${Z}`, NS, NODATA],
  [`nope.demo.svc.${Z}`, A, NXDOMAIN],
  [`nope.demo.svc.${Z}`, TXT, NXDOMAIN],
  [`nope.demo.svc.${Z}`, HINFO, NXDOMAIN],
  [`empty.demo.svc.${Z}`, A, ok([`empty.demo.svc.${Z}. 5 IN A 10.96.100.30`])],
  [`dual.demo.svc.${Z}`, A, ok([`dual.demo.svc.${Z}. 5 IN A 10.96.100.20`])],
  [`dual.demo.svc.${Z}`, AAAA, ok([`dual.demo.svc.${Z}. 5 IN AAAA fd00:10:96::20`])],
  [`kubernetes.default.svc.${Z}`, A, ok([`kubernetes.default.svc.${Z}. 5 IN A 10.96.0.1`])],
  // endpoint names, also under ClusterIP services
  [`10-244-1-10.web.demo.svc.${Z}`, A, ok([`10-244-1-10.web.demo.svc.${Z}. 5 IN A 10.244.1.10`])],
  [`10-244-2-12.web.demo.svc.${Z}`, A, NXDOMAIN], // not ready
  [`x.web.demo.svc.${Z}`, A, NXDOMAIN],
  // headless
  [`db.demo.svc.${Z}`, A, ok([`db.demo.svc.${Z}. 5 IN A 10.244.1.20`, `db.demo.svc.${Z}. 5 IN A 10.244.2.21`])],
  [`db.demo.svc.${Z}`, AAAA, NODATA],
  [`db.demo.svc.${Z}`, TXT, NODATA],
  [`db-0.db.demo.svc.${Z}`, A, ok([`db-0.db.demo.svc.${Z}. 5 IN A 10.244.1.20`])],
  [`db-2.db.demo.svc.${Z}`, A, NXDOMAIN],
  [`10-244-1-20.db.demo.svc.${Z}`, A, NXDOMAIN], // a hostname replaces the dashed-IP name
  [`cache.demo.svc.${Z}`, AAAA, ok([`cache.demo.svc.${Z}. 5 IN AAAA fd00:10:244:1::30`])],
  [`fd00-10-244-1--30.cache.demo.svc.${Z}`, AAAA, ok([`fd00-10-244-1--30.cache.demo.svc.${Z}. 5 IN AAAA fd00:10:244:1::30`])],
  [`drained.demo.svc.${Z}`, A, NXDOMAIN],
  [`drained.demo.svc.${Z}`, TXT, NXDOMAIN],
  [`portless.demo.svc.${Z}`, A, ok([`portless.demo.svc.${Z}. 5 IN A 10.244.8.1`])],
  [`portless.demo.svc.${Z}`, SRV, NODATA],
  // SRV
  [`_http._tcp.web.demo.svc.${Z}`, SRV, ok([`_http._tcp.web.demo.svc.${Z}. 5 IN SRV 0 100 80 web.demo.svc.${Z}.`], [`web.demo.svc.${Z}. 5 IN A 10.96.100.10`])],
  [`http.tcp.web.demo.svc.${Z}`, SRV, ok([`http.tcp.web.demo.svc.${Z}. 5 IN SRV 0 100 80 web.demo.svc.${Z}.`], [`web.demo.svc.${Z}. 5 IN A 10.96.100.10`])],
  [`_HTTP._TCP.web.demo.svc.${Z}`, SRV, ok([`_HTTP._TCP.web.demo.svc.${Z}. 5 IN SRV 0 100 80 web.demo.svc.${Z}.`], [`web.demo.svc.${Z}. 5 IN A 10.96.100.10`])],
  [`_http._udp.web.demo.svc.${Z}`, SRV, NXDOMAIN],
  [`_http._tcp.web.demo.svc.${Z}`, A, ok([`_http._tcp.web.demo.svc.${Z}. 5 IN A 10.96.100.10`])],
  [`_x._tcp.web.demo.svc.${Z}`, A, NXDOMAIN],
  [`a.b.c.web.demo.svc.${Z}`, A, NXDOMAIN],
  [`api.demo.svc.${Z}`, SRV, ok(
    [`api.demo.svc.${Z}. 5 IN SRV 0 33 80 api.demo.svc.${Z}.`, `api.demo.svc.${Z}. 5 IN SRV 0 33 9090 api.demo.svc.${Z}.`, `api.demo.svc.${Z}. 5 IN SRV 0 33 8125 api.demo.svc.${Z}.`],
    [`api.demo.svc.${Z}. 5 IN A 10.96.100.11`],
  )],
  [`dual.demo.svc.${Z}`, SRV, ok([`dual.demo.svc.${Z}. 5 IN SRV 0 50 80 dual.demo.svc.${Z}.`], [`dual.demo.svc.${Z}. 5 IN A 10.96.100.20`, `dual.demo.svc.${Z}. 5 IN AAAA fd00:10:96::20`])],
  [`_postgres._tcp.db.demo.svc.${Z}`, SRV, ok(
    [`_postgres._tcp.db.demo.svc.${Z}. 5 IN SRV 0 50 5432 db-0.db.demo.svc.${Z}.`, `_postgres._tcp.db.demo.svc.${Z}. 5 IN SRV 0 50 5432 db-1.db.demo.svc.${Z}.`],
    [`db-0.db.demo.svc.${Z}. 5 IN A 10.244.1.20`, `db-1.db.demo.svc.${Z}. 5 IN A 10.244.2.21`],
  )],
  // headless SRV carries the EndpointSlice (target) port: web's 80 → 8080 only shows on endpoint names
  [`10-244-1-10.web.demo.svc.${Z}`, SRV, ok([`10-244-1-10.web.demo.svc.${Z}. 5 IN SRV 0 100 8080 10-244-1-10.web.demo.svc.${Z}.`], [`10-244-1-10.web.demo.svc.${Z}. 5 IN A 10.244.1.10`])],
  // ExternalName
  [`search.demo.svc.${Z}`, CNAME, ok([`search.demo.svc.${Z}. 5 IN CNAME search.example.com.`])],
  [`search.demo.svc.${Z}`, A, ok([`search.demo.svc.${Z}. 5 IN CNAME search.example.com.`])],
  [`search.demo.svc.${Z}`, SRV, NODATA],
  [`search.demo.svc.${Z}`, TXT, NODATA],
  [`search.demo.svc.${Z}`, PTR, NODATA], // PTR on a forward name: existence only
  [`_http._tcp.search.demo.svc.${Z}`, SRV, NXDOMAIN],
  [`x.search.demo.svc.${Z}`, A, NXDOMAIN],
  [`www.demo.svc.${Z}`, A, ok([`www.demo.svc.${Z}. 5 IN CNAME web.demo.svc.${Z}.`, `web.demo.svc.${Z}. 5 IN A 10.96.100.10`])],
  [`www.demo.svc.${Z}`, AAAA, NODATA], // in-zone target without AAAA: the CNAME is dropped
  [`ipname.demo.svc.${Z}`, A, NXDOMAIN],
  // PTR
  ['10.100.96.10.in-addr.arpa', PTR, ok([`10.100.96.10.in-addr.arpa. 5 IN PTR web.demo.svc.${Z}.`])],
  ['1.0.96.10.in-addr.arpa', PTR, ok([`1.0.96.10.in-addr.arpa. 5 IN PTR kubernetes.default.svc.${Z}.`])],
  ['20.1.244.10.in-addr.arpa', PTR, ok([`20.1.244.10.in-addr.arpa. 5 IN PTR db-0.db.demo.svc.${Z}.`])],
  ['10.1.244.10.in-addr.arpa', PTR, ok([`10.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-10.web.demo.svc.${Z}.`])],
  ['12.2.244.10.in-addr.arpa', PTR, { rcode: 'NXDOMAIN', answer: [], authority: [SOA_V4], additional: [] }],
  ['100.96.10.in-addr.arpa', PTR, { rcode: 'NXDOMAIN', answer: [], authority: [SOA_V4], additional: [] }],
  ['in-addr.arpa', PTR, { rcode: 'NOERROR', answer: [], authority: [SOA_V4], additional: [] }],
  ['in-addr.arpa', SOA_T, ok([SOA_V4])],
  ['10.100.96.10.in-addr.arpa', A, { rcode: 'NXDOMAIN', answer: [], authority: [SOA_V4], additional: [] }],
  [
    '0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa',
    PTR,
    ok([`0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa. 5 IN PTR dual.demo.svc.${Z}.`]),
  ],
  // pods (insecure)
  [`10-244-1-5.demo.pod.${Z}`, A, ok([`10-244-1-5.demo.pod.${Z}. 5 IN A 10.244.1.5`])],
  [`10-244-1-5.demo.pod.${Z}`, AAAA, NODATA],
  [`fd00--1.demo.pod.${Z}`, AAAA, ok([`fd00--1.demo.pod.${Z}. 5 IN AAAA fd00::1`])],
  [`10-244-1-5.missing.pod.${Z}`, A, NXDOMAIN],
  [`not-an-ip.demo.pod.${Z}`, A, NXDOMAIN],
  [`demo.pod.${Z}`, A, NODATA],
  [`10-244-1-5.demo.pod.${Z}`, TXT, NODATA],
  [`ns.dns.${Z}`, A, NODATA],
  [`ns.dns.${Z}`, TXT, NXDOMAIN],
];

describe('cluster handler: answers and negative answers (CoreDNS rules)', () => {
  const { handler } = setup();
  for (const [name, type, want] of TABLE) {
    it(`${name} ${RRType.A === type ? 'A' : Object.entries(RRType).find(([, v]) => v === type)?.[0]} → ${want.rcode}${want.answer.length ? ` (${want.answer.length} answers)` : ''}`, async () => {
      const got = (await ask(handler, name, type)) as Seen;
      assert.notEqual(got, PASS);
      const sorted = (s: Seen): Seen => ({ rcode: s.rcode, answer: [...s.answer].sort(), authority: [...s.authority].sort(), additional: [...s.additional].sort() });
      assert.deepEqual(sorted(got), sorted(want));
    });
  }

  it('passes names outside its zones to the next handler', async () => {
    assert.equal(await ask(handler, 'example.com', A), PASS);
    assert.equal(await ask(handler, 'cluster.local.example.com', A), PASS);
  });

  it('refuses zone transfers', async () => {
    assert.equal(((await ask(handler, Z, AXFR)) as Seen).rcode, 'REFUSED');
  });
});

describe('cluster handler: options', () => {
  it('pods disabled: pod names are NXDOMAIN, pod.<zone> stays NODATA', async () => {
    const { handler } = setup({ pods: 'disabled' });
    assert.deepEqual(await ask(handler, `10-244-1-5.demo.pod.${Z}`, A), NXDOMAIN);
    assert.deepEqual(await ask(handler, `demo.pod.${Z}`, A), NXDOMAIN);
    assert.deepEqual(await ask(handler, `pod.${Z}`, A), NODATA);
  });

  it('pods verified: only IPs of live pods in that namespace answer', async () => {
    const { handler } = setup({ pods: 'verified' });
    assert.deepEqual(await ask(handler, `10-244-1-77.demo.pod.${Z}`, A), ok([`10-244-1-77.demo.pod.${Z}. 5 IN A 10.244.1.77`]));
    assert.deepEqual(await ask(handler, `10-244-1-78.demo.pod.${Z}`, A), NXDOMAIN);
    assert.deepEqual(await ask(handler, `10-244-1-77.default.pod.${Z}`, A), NXDOMAIN);
  });

  it('pods verified: pods sharing an IP give one A and one SRV whose weight is a share of them (CoreDNS: 100 / pods)', async () => {
    const { handler } = setup({ pods: 'verified' });
    const name = `10-244-1-88.demo.pod.${Z}`;
    assert.deepEqual(await ask(handler, name, A), ok([`${name}. 5 IN A 10.244.1.88`]));
    assert.deepEqual(await ask(handler, name, SRV), ok([`${name}. 5 IN SRV 0 33 0 ${name}.`], [`${name}. 5 IN A 10.244.1.88`]));
    const single = `10-244-1-77.demo.pod.${Z}`;
    assert.deepEqual(await ask(handler, single, SRV), ok([`${single}. 5 IN SRV 0 100 0 ${single}.`], [`${single}. 5 IN A 10.244.1.77`]));
    const other = `10-244-1-88.default.pod.${Z}`;
    assert.deepEqual(await ask(handler, other, SRV), ok([`${other}. 5 IN SRV 0 100 0 ${other}.`], [`${other}. 5 IN A 10.244.1.88`]));
    // insecure echoes the address without counting anyone
    assert.deepEqual(await ask(setup().handler, name, SRV), ok([`${name}. 5 IN SRV 0 100 0 ${name}.`], [`${name}. 5 IN A 10.244.1.88`]));
  });

  it('ignore-empty-service: a ClusterIP service without ready endpoints is NXDOMAIN; ExternalName unaffected', async () => {
    const { handler } = setup({}, { ignoreEmptyService: true });
    assert.deepEqual(await ask(handler, `empty.demo.svc.${Z}`, A), NXDOMAIN);
    assert.deepEqual(await ask(handler, `dual.demo.svc.${Z}`, A), NXDOMAIN);
    assert.deepEqual(await ask(handler, `web.demo.svc.${Z}`, A), ok([`web.demo.svc.${Z}. 5 IN A 10.96.100.10`]));
    assert.deepEqual(await ask(handler, `search.demo.svc.${Z}`, CNAME), ok([`search.demo.svc.${Z}. 5 IN CNAME search.example.com.`]));
  });

  it('endpoint-pod-names: endpoints without hostname are named after their pod', async () => {
    const { handler } = setup({}, { endpointPodNames: true });
    assert.deepEqual(await ask(handler, `web-6d4cf56db6-2xk8p.web.demo.svc.${Z}`, A), ok([`web-6d4cf56db6-2xk8p.web.demo.svc.${Z}. 5 IN A 10.244.1.10`]));
    assert.deepEqual(await ask(handler, `10-244-1-10.web.demo.svc.${Z}`, A), NXDOMAIN);
    assert.deepEqual(await ask(handler, `db-0.db.demo.svc.${Z}`, A), ok([`db-0.db.demo.svc.${Z}. 5 IN A 10.244.1.20`]));
  });

  it('NS at the apex names the services whose endpoints carry our address, with glue', async () => {
    const { handler } = setup({ localIPs: ['10.244.0.2'] });
    assert.deepEqual(await ask(handler, Z, NS), ok([`${Z}. 5 IN NS kube-dns.kube-system.svc.${Z}.`], [`kube-dns.kube-system.svc.${Z}. 5 IN A 10.96.0.10`]));
    const alone = setup({ localIPs: ['192.0.2.53'] }).handler;
    assert.deepEqual(await ask(alone, Z, NS), ok([`${Z}. 5 IN NS ns.dns.${Z}.`], [`ns.dns.${Z}. 5 IN A 192.0.2.53`]));
    assert.deepEqual(await ask(alone, `ns.dns.${Z}`, A), ok([`ns.dns.${Z}. 5 IN A 192.0.2.53`]));
  });

  it('before the first sync, NXDOMAIN becomes SERVFAIL (with the SOA, and EDE "Not Ready" under EDNS)', async () => {
    const { handler } = setup({ synced: () => false });
    assert.deepEqual(await ask(handler, `nope.demo.svc.${Z}`, A), { ...NXDOMAIN, rcode: 'SERVFAIL' });
    assert.deepEqual(await ask(handler, `web.demo.svc.${Z}`, A), ok([`web.demo.svc.${Z}. 5 IN A 10.96.100.10`]));
    const decoded = decodeQuery(buildQuery(`nope.demo.svc.${Z}`, A, { edns: 1232 }));
    if (decoded.kind !== 'query') throw new Error('bad query');
    const reply = (await handler.handle(decoded.query)) as Reply;
    assert.equal(reply.ede?.code, 14);
  });

  it('a second zone answers the same records, with its own SOA; PTR targets use the primary zone', async () => {
    const { handler } = setup({ zones: ['cluster.local', 'example.internal'] });
    assert.deepEqual(await ask(handler, 'web.demo.svc.example.internal', A), ok(['web.demo.svc.example.internal. 5 IN A 10.96.100.10']));
    assert.deepEqual((await ask(handler, 'nope.demo.svc.example.internal', A) as Seen).authority, [
      'example.internal. 5 IN SOA ns.dns.example.internal. hostmaster.example.internal. SERIAL 7200 1800 86400 5',
    ]);
    assert.deepEqual(await ask(handler, '10.100.96.10.in-addr.arpa', PTR), ok([`10.100.96.10.in-addr.arpa. 5 IN PTR web.demo.svc.${Z}.`]));
  });
});
