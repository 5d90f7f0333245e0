// Per-query accounting with CoreDNS's labels, for decoded and replayed answers alike, and the /records view.
import assert from 'node:assert/strict';
import { decodeQuery } from '../../../src/dns/decode.js';
import type { QueryEvent } from '../../../src/dns/exchange.js';
import type { Query } from '../../../src/dns/message.js';
import { ReplayCache, replayQuestion } from '../../../src/dns/replay.js';
import { debugRecords } from '../../../src/ops/debug-records.js';
import { QueryMetrics } from '../../../src/ops/query-metrics.js';
import { buildQuery } from '../../helpers/dns-client.js';
import { fixedCluster } from '../../helpers/fake-cluster.js';

const client = { address: '127.0.0.1', family: 4 as const };

describe('ops/query-metrics', () => {
  it('labels by zone, type, rcode and source (as CoreDNS plugin names), replays included', () => {
    const m = new QueryMetrics('dns://:53', ['cluster.local', 'in-addr.arpa']);
    const packet = buildQuery('web.demo.svc.cluster.local', 1, {});
    const query = (decodeQuery(packet) as { query: Query }).query;
    const reply = { rcode: 0, authoritative: true, answer: [], authority: [], additional: [], source: 'cluster' as const };
    const answered: QueryEvent = { kind: 'answered', query, reply, proto: 'udp', client, started: process.hrtime.bigint(), requestSize: packet.length, size: 100 };
    m.observe(answered);
    const cache = new ReplayCache(10, () => 0);
    const q = replayQuestion(packet)!;
    cache.remember(query, q, [reply], undefined, 0);
    const hit = cache.hit(packet, q, 0, true)!;
    for (let i = 0; i < 3; i++) m.observe({ kind: 'replayed', hit, proto: 'udp', client, started: process.hrtime.bigint(), requestSize: packet.length, size: hit.bytes.length });
    m.observe({ ...answered, query: { ...query, lowerName: 'www.example' }, reply: { ...reply, rcode: 3, source: 'cache' } });
    const responses = [...m.responses.entries()].map(([labels, n]) => `${labels['zone']} ${labels['rcode']} ${labels['plugin']} ${n}`);
    assert.deepEqual(responses.sort(), ['. NXDOMAIN cache 1', 'cluster.local. NOERROR kubernetes 4']);
    assert.equal(hit.entry.memo.length > 0, true, 'a replay keeps its metric cells in the entry');
  });

  it("reports CoreDNS's monitored types by name, DNSSEC's too, and every other type as `other`; zones by their last labels", () => {
    const m = new QueryMetrics('dns://:53', ['cluster.local', 'local']);
    const reply = { rcode: 0, authoritative: true, answer: [], authority: [], additional: [] };
    const ask = (name: string, type: number, proto: 'udp' | 'tcp' = 'udp'): void => {
      const packet = buildQuery(name, type, {});
      const query = (decodeQuery(packet) as { query: Query }).query;
      m.observe({ kind: 'answered', query, reply, proto, client, started: process.hrtime.bigint(), requestSize: packet.length, size: 50 });
    };
    ask('a.cluster.local', 48); // DNSKEY
    ask('b.cluster.local', 48);
    ask('a.cluster.local', 43); // DS
    ask('a.cluster.local', 99); // SPF: not monitored
    ask('a.cluster.local', 65280);
    ask('xcluster.local', 1); // in `local`, not `cluster.local`
    ask('cluster.local', 1, 'tcp');
    const requests = [...m.requests.entries()].map(([l, n]) => `${l['zone']} ${l['proto']} ${l['type']} ${n}`);
    assert.deepEqual(requests.sort(), ['cluster.local. tcp A 1', 'cluster.local. udp DNSKEY 2', 'cluster.local. udp DS 1', 'cluster.local. udp other 2', 'local. udp A 1']);
  });
});

describe('ops/debug-records', () => {
  const { index } = fixedCluster();
  const view = debugRecords(() => index, () => ['cluster.local']);

  it('explains a name in either port spelling, with the Service it came from', () => {
    const a = view('_http._tcp.web.demo.svc.cluster.local.') as { name: string; relativeName: string; service: string };
    const b = view('http.tcp.web.demo.svc.cluster.local') as { relativeName: string; service: string };
    assert.equal(a.relativeName, 'http.tcp.web.demo.svc');
    assert.equal(a.service, 'demo/web');
    assert.deepEqual(a, { ...b, name: a.name });
  });

  it('names outside the zones, unknown names and partial reverse names', () => {
    assert.deepEqual(view('www.example'), { name: 'www.example', error: 'not in a cluster zone' });
    assert.equal((view('nope.demo.svc.cluster.local') as { found: boolean }).found, false);
    assert.deepEqual(view('96.10.in-addr.arpa'), { name: '96.10.in-addr.arpa', error: 'not a complete reverse name' });
    assert.equal((view('10.100.96.10.in-addr.arpa') as { address: string }).address, '10.96.100.10');
  });
});
