// --autopath: the decision (every refusal reason), the name shape it acts on, and the answer shape, at the
// handler over the fixed cluster (test/helpers/fake-cluster.ts) with a scripted forwarder behind it. A refused
// query must get exactly the answer the chain gives without autopath.
import assert from 'node:assert/strict';
import { PodAddresses } from '../../../src/cluster/pod-addresses.js';
import type { PodAddressInfo } from '../../../src/cluster/objects.js';
import { RCODE_NAMES, Rcode, RRType } from '../../../src/dns/constants.js';
import { decodeQuery } from '../../../src/dns/decode.js';
import type { Client } from '../../../src/dns/exchange.js';
import type { Query, Reply } from '../../../src/dns/message.js';
import { replayableForGeneration } from '../../../src/dns/replay.js';
import { addressRR, soaRR } from '../../../src/records/rr.js';
import { type AutopathOutcome, type ClientFacts, refusal, remainingSearch, searchExpansion } from '../../../src/resolve/autopath.js';
import { AutopathHandler } from '../../../src/resolve/autopath-handler.js';
import { ClusterHandler } from '../../../src/resolve/cluster.js';
import { type Handler, type HandlerResult, PASS } from '../../../src/resolve/handler.js';
import { rrText } from '../../../src/resolve/zone-file.js';
import { ManualClock } from '../../helpers/clock.js';
import { buildQuery } from '../../helpers/dns-client.js';
import { fixedCluster } from '../../helpers/fake-cluster.js';

const HOUR = 3_600_000;

function pod(over: Partial<PodAddressInfo> = {}, now = 1_700_000_000_000): PodAddressInfo {
  return { uid: 'uid-a', namespace: 'demo', ips: ['10.244.1.50'], hostNetwork: false, hostIPs: ['172.18.0.2'], clusterFirstSearch: true, createdAt: now - HOUR, writtenAt: now - HOUR, ...over };
}

describe('autopath: the name shape', () => {
  const cases: Array<[string, ReturnType<typeof searchExpansion>]> = [
    ['www.example.test.demo.svc.cluster.local', { base: 'www.example.test', namespace: 'demo', zone: 'cluster.local' }],
    ['WWW.Example.Demo.SVC.Cluster.Local', { base: 'WWW.Example', namespace: 'demo', zone: 'Cluster.Local' }],
    ['kubernetes.default.demo.svc.cluster.local', { base: 'kubernetes.default', namespace: 'demo', zone: 'cluster.local' }],
    ['demo.svc.cluster.local', undefined], // the namespace itself
    ['x.svc.cluster.local', undefined], // `<ns>.svc`: the second search element, never the first
    ['1-2-3-4.demo.pod.cluster.local', undefined],
    ['cluster.local', undefined],
    ['a..demo.svc.cluster.local', undefined],
  ];
  for (const [name, want] of cases) {
    it(`${name} → ${want ? `${want.base} in ${want.namespace}` : 'not an expansion'}`, () => assert.deepEqual(searchExpansion(name, 'cluster.local'), want));
  }

  it('the rest of the path is the kubelet ClusterFirst one, then the name itself, in the client spelling', () => {
    assert.deepEqual(remainingSearch({ base: 'Www.Example.test', namespace: 'demo', zone: 'cluster.local' }), ['Www.Example.test.svc.cluster.local', 'Www.Example.test.cluster.local', 'Www.Example.test']);
  });
});

describe('autopath: who asked (every refusal reason)', () => {
  const now = 1_700_000_000_000;
  const ok: ClientFacts = { watchConnected: true, watchLagMs: 200, maxLagMs: 10_000, who: { kind: 'pod', pod: pod({}, now) }, now };
  const cases: Array<[string, Partial<ClientFacts>, AutopathOutcome | undefined]> = [
    ['a known pod of the namespace, old enough, ClusterFirst', {}, undefined],
    ['the Pod watch is down', { watchConnected: false }, 'watch_down'],
    ['the Pod watch lags more than allowed', { watchLagMs: 12_000 }, 'watch_lagging'],
    ['nobody holds the address', { who: { kind: 'unknown' } }, 'unknown_client'],
    ["a node's address", { who: { kind: 'node' } }, 'node'],
    ["a hostNetwork pod's address", { who: { kind: 'host_network' } }, 'host_network'],
    ['two pods held the address within the window', { who: { kind: 'ambiguous' } }, 'ambiguous'],
    ['dnsPolicy None or dnsConfig.searches', { who: { kind: 'pod', pod: pod({ clusterFirstSearch: false }, now) } }, 'custom_search'],
    ['a pod created within the lag (plus a second of timestamp rounding)', { who: { kind: 'pod', pod: pod({ createdAt: now - 1100 }, now) } }, 'pod_too_young'],
    ['a pod without a creation time', { who: { kind: 'pod', pod: pod({ createdAt: NaN }, now) } }, 'pod_too_young'],
    ['a pod of another namespace', { who: { kind: 'pod', pod: pod({ namespace: 'default' }, now) } }, 'namespace_mismatch'],
  ];
  for (const [what, over, want] of cases) it(`${what} → ${want ?? 'walk'}`, () => assert.equal(refusal('demo', { ...ok, ...over }), want));
});

/** The forwarder's part, scripted: what an upstream would say for a few outside names. */
const SOA_EXAMPLE = soaRR('example.test', 60, { mname: 'ns.example.test', rname: 'admin.example.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60 });
const upstream: Handler = async (q: Query): Promise<HandlerResult> => {
  const base = { authoritative: true, recursionAvailable: true, additional: [], source: 'forward' as const };
  if (q.lowerName === 'www.example.test' && q.type === RRType.A) return { ...base, rcode: Rcode.NOERROR, answer: [addressRR(q.name, 300, '192.0.2.10')], authority: [], replayFor: 300 };
  if (q.lowerName === 'www.example.test') return { ...base, rcode: Rcode.NOERROR, answer: [], authority: [SOA_EXAMPLE] };
  if (q.lowerName === 'broken.example.test') return { ...base, rcode: Rcode.SERVFAIL, answer: [], authority: [] };
  return { ...base, rcode: Rcode.NXDOMAIN, answer: [], authority: [SOA_EXAMPLE] };
};

function setup(watch = { connected: true, lastError: undefined as string | undefined }) {
  const clock = new ManualClock();
  const { records } = fixedCluster();
  const cluster = new ClusterHandler(records, { zones: ['cluster.local'], ttl: 5, pods: 'insecure', localIPs: [], synced: () => true, fallthrough: [] });
  const rest = [cluster.handle, upstream];
  const addresses = new PodAddresses(clock, { reuseWindowMs: 300_000 });
  addresses.upsert('demo/client', pod({}, clock.now()));
  addresses.upsert('default/other', pod({ uid: 'uid-b', namespace: 'default', ips: ['10.244.1.51'] }, clock.now()));
  const autopath = new AutopathHandler(rest, { zones: ['cluster.local'], addresses, watch: () => watch, maxLagMs: 10_000, clock });
  return { autopath, rest, addresses, clock };
}

const query = (name: string, type: number): Query => {
  const d = decodeQuery(buildQuery(name, type));
  if (d.kind !== 'query') throw new Error('not a query');
  return d.query;
};
const tidy = (l: string): string => l.replace(/\t/g, ' ').replace(/(SOA \S+ \S+ )\d+/, '$1SERIAL');
const show = (r: Reply) => ({ rcode: RCODE_NAMES[r.rcode], answer: r.answer.map(rrText).map(tidy), authority: r.authority.map(rrText).map(tidy) });

/** Runs `handlers` as the pipeline does: the first that does not PASS. */
async function run(handlers: Handler[], q: Query, client?: Client): Promise<Reply | typeof PASS> {
  for (const h of handlers) {
    const r = await h(q, client);
    if (r !== PASS) return r;
  }
  return PASS;
}

const POD: Client = { address: '10.244.1.50', family: 4 };
const SOA = 'cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. SERIAL 7200 1800 86400 5';

describe('autopath: the answers', () => {
  const cases: Array<{ what: string; name: string; type?: number; client?: Client; outcome: AutopathOutcome; rcode?: string; answer?: string[]; authority?: string[] }> = [
    {
      what: 'an outside name: CNAME from the asked name to it (its TTL), then its records',
      name: 'www.example.test.demo.svc.cluster.local',
      outcome: 'completed',
      rcode: 'NOERROR',
      answer: ['www.example.test.demo.svc.cluster.local. 300 IN CNAME www.example.test.', 'www.example.test. 300 IN A 192.0.2.10'],
      authority: [],
    },
    {
      what: 'the client spelling survives in both names',
      name: 'WWW.example.TEST.demo.svc.cluster.local',
      outcome: 'completed',
      rcode: 'NOERROR',
      answer: ['WWW.example.TEST.demo.svc.cluster.local. 300 IN CNAME WWW.example.TEST.', 'WWW.example.TEST. 300 IN A 192.0.2.10'],
    },
    {
      what: 'a cluster name further on the path (kubernetes.default from demo)',
      name: 'kubernetes.default.demo.svc.cluster.local',
      outcome: 'completed',
      rcode: 'NOERROR',
      answer: ['kubernetes.default.demo.svc.cluster.local. 5 IN CNAME kubernetes.default.svc.cluster.local.', 'kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1'],
    },
    {
      what: 'the first name that exists has no such records (no AAAA upstream): NODATA for the asked name, no CNAME, our SOA',
      name: 'www.example.test.demo.svc.cluster.local',
      type: RRType.AAAA,
      outcome: 'nodata',
      rcode: 'NOERROR',
      answer: [],
      authority: [SOA],
    },
    {
      what: 'a namespace on the path (quiet.svc.cluster.local exists, empty): NODATA, no CNAME',
      name: 'quiet.demo.svc.cluster.local',
      outcome: 'nodata',
      rcode: 'NOERROR',
      answer: [],
      authority: [SOA],
    },
    { what: 'nothing on the path exists: NXDOMAIN for the asked name', name: 'nope.example.test.demo.svc.cluster.local', outcome: 'nxdomain', rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
    { what: 'the upstream fails: the asked name own NXDOMAIN', name: 'broken.example.test.demo.svc.cluster.local', outcome: 'failed', rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
    { what: 'the asked name exists: its own answer', name: 'web.demo.svc.cluster.local', outcome: 'exists', rcode: 'NOERROR', answer: ['web.demo.svc.cluster.local. 5 IN A 10.96.100.10'] },
    {
      what: 'a dual-stack socket reports the pod as ::ffff:10.244.1.50',
      name: 'www.example.test.demo.svc.cluster.local',
      client: { address: '::ffff:10.244.1.50', family: 6 },
      outcome: 'completed',
      rcode: 'NOERROR',
      answer: ['www.example.test.demo.svc.cluster.local. 300 IN CNAME www.example.test.', 'www.example.test. 300 IN A 192.0.2.10'],
    },
  ];
  for (const c of cases) {
    it(`${c.what} (${c.outcome})`, async () => {
      const { autopath } = setup();
      const r = await run([autopath.handle], query(c.name, c.type ?? RRType.A), c.client ?? POD);
      assert.notEqual(r, PASS);
      const seen = show(r as Reply);
      assert.equal(seen.rcode, c.rcode);
      if (c.answer) assert.deepEqual(seen.answer, c.answer);
      if (c.authority) assert.deepEqual(seen.authority, c.authority);
      assert.equal(autopath.counts[c.outcome], 1);
      assert.equal(Object.values(autopath.counts).reduce((a, b) => a + b), 1, 'one outcome per query');
      const reply = r as Reply;
      assert.equal(reply.replayFor, undefined, 'never replayed for someone else');
      if (c.outcome !== 'exists') assert.equal(replayableForGeneration(reply), false);
      else assert.equal(replayableForGeneration(reply), true, 'an answer that does not depend on the client stays on the fast path');
    });
  }

  const refusals: Array<{ what: string; name: string; type?: number; client?: Client; outcome: AutopathOutcome; setup?: (s: ReturnType<typeof setup>) => void; down?: boolean }> = [
    { what: 'no client address (a test, a replay)', name: 'www.example.test.demo.svc.cluster.local', client: { address: '', family: 4 }, outcome: 'unknown_client' },
    { what: 'an address no pod holds', name: 'www.example.test.demo.svc.cluster.local', client: { address: '10.244.9.9', family: 4 }, outcome: 'unknown_client' },
    { what: "the node's address (a pod's hostIP)", name: 'www.example.test.demo.svc.cluster.local', client: { address: '172.18.0.2', family: 4 }, outcome: 'node' },
    {
      what: 'a hostNetwork pod',
      name: 'www.example.test.demo.svc.cluster.local',
      client: { address: '10.0.0.7', family: 4 },
      outcome: 'host_network',
      setup: (s) => s.addresses.upsert('demo/hn', pod({ uid: 'hn', ips: ['10.0.0.7'], hostIPs: [], hostNetwork: true }, s.clock.now())),
    },
    {
      what: 'an address that held a pod of another namespace a minute ago',
      name: 'www.example.test.demo.svc.cluster.local',
      outcome: 'ambiguous',
      setup: (s) => {
        s.addresses.remove('demo/client');
        s.clock.advance(60_000);
        s.addresses.upsert('demo/client-2', pod({ uid: 'uid-c' }, s.clock.now()));
      },
    },
    { what: 'the suffix names another namespace than the pod', name: 'www.example.test.default.svc.cluster.local', outcome: 'namespace_mismatch' },
    { what: 'the Pod watch is down', name: 'www.example.test.demo.svc.cluster.local', outcome: 'watch_down', down: true },
    { what: 'not an address query', name: 'www.example.test.demo.svc.cluster.local', type: RRType.TXT, outcome: 'other_type' },
    { what: 'in the zone, not a search expansion', name: 'nope.svc.cluster.local', outcome: 'not_expansion' },
  ];
  for (const c of refusals) {
    it(`refused: ${c.what} (${c.outcome}), answered exactly as without autopath`, async () => {
      const s = setup({ connected: !c.down, lastError: c.down ? 'HTTP 403' : undefined });
      c.setup?.(s);
      const q = query(c.name, c.type ?? RRType.A);
      const client = c.client ?? POD;
      const withAutopath = await run([s.autopath.handle, ...s.rest], q, client);
      const without = await run(s.rest, q, client);
      assert.notEqual(withAutopath, PASS);
      assert.deepEqual(show(withAutopath as Reply), show(without as Reply));
      assert.equal(s.autopath.counts[c.outcome], 1);
      if ((withAutopath as Reply).rcode === Rcode.NXDOMAIN && c.outcome !== 'other_type' && c.outcome !== 'not_expansion') {
        assert.equal(replayableForGeneration(withAutopath as Reply), false, 'refused for this client, maybe not for the next: never replayed');
      }
    });
  }

  it('outside the cluster zones: passes without counting', async () => {
    const { autopath } = setup();
    assert.equal(await autopath.handle(query('www.example.test', RRType.A), POD), PASS);
    assert.equal(Object.values(autopath.counts).reduce((a, b) => a + b), 0);
  });

  it("/ready's reason: the watch down, or lagging past --autopath-max-lag; none while it works", () => {
    assert.match(setup({ connected: false, lastError: 'HTTP 403' }).autopath.health()!, /Pod watch is down \(HTTP 403\)/);
    const s = setup();
    assert.equal(s.autopath.health(), undefined);
    s.addresses.upsert('demo/late', pod({ uid: 'late', ips: ['10.244.1.60'], writtenAt: s.clock.now() - 15_000 }, s.clock.now()), true);
    assert.match(s.autopath.health()!, /15\.0 s behind/);
  });

  it('a lagging watch refuses everyone until the lag is a minute or two old', async () => {
    const s = setup();
    s.addresses.upsert('demo/late', pod({ uid: 'late', ips: ['10.244.1.60'], writtenAt: s.clock.now() - 15_000 }, s.clock.now()), true);
    await run([s.autopath.handle, ...s.rest], query('www.example.test.demo.svc.cluster.local', RRType.A), POD);
    assert.equal(s.autopath.counts.watch_lagging, 1);
    s.clock.advance(121_000);
    await run([s.autopath.handle, ...s.rest], query('www.example.test.demo.svc.cluster.local', RRType.A), POD);
    assert.equal(s.autopath.counts.completed, 1);
  });
});
