// The fast path must be invisible: byte-identical to the full path, never stale after an index change, and
// counted in the metrics like any other query.
import { eventually } from '../helpers/eventually.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildQuery, sendRaw } from '../helpers/dns-client.js';
import { ManualClock } from '../helpers/clock.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('answer cache (fast path for cluster answers)', () => {
  let dir: string;
  let s: TestServer;
  let plain: TestServer;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-fast-'));
    fs.cpSync('examples', dir, { recursive: true });
    s = await startTestServer(['--manifests', dir, '--loadbalance', 'off']);
    // The same answers without a fast path: every query logged, so every query takes the full path.
    plain = await startTestServer(['--manifests', dir, '--loadbalance', 'off', '--log-queries', '--log-level', 'error']);
  });
  after(async () => {
    await s.stop();
    await plain.stop();
  });

  const cases: Array<[string, number, Parameters<typeof buildQuery>[2]]> = [
    ['web.demo.svc.cluster.local', 1, {}],
    ['web.demo.svc.cluster.local', 1, { edns: 1232, dnssecOk: true }],
    ['db.demo.svc.cluster.local', 1, { edns: 4096, rd: false }],
    ['_postgres._tcp.db.demo.svc.cluster.local', 33, { edns: 1232 }],
    ['nope.demo.svc.cluster.local', 1, {}],
    ['web.demo.svc.cluster.local', 28, { edns: 1232 }],
    ['10.100.96.10.in-addr.arpa', 12, {}],
  ];
  for (const [name, type, opts] of cases) {
    it(`serves ${name} ${type} ${JSON.stringify(opts)} from the cache byte for byte as the full path does`, async () => {
      for (let i = 0; i < 3; i++) {
        const q = buildQuery(name, type, { ...opts, id: 1000 + i });
        const [fast, full] = await Promise.all([sendRaw(s.port, q), sendRaw(plain.port, q)]);
        assert.ok(fast && full);
        // Byte for byte, except a negative answer's SOA serial: the time of each server's own last change.
        const mask = (b: Buffer): string => {
          const copy = Buffer.from(b);
          if (copy.readUInt16BE(6) === 0) copy.fill(0, copy.length - (opts?.edns ? 11 : 0) - 20, copy.length - (opts?.edns ? 11 : 0) - 16);
          return copy.toString('hex');
        };
        assert.equal(mask(fast), mask(full));
      }
      assert.ok(s.pipeline.stats.queries > 0);
    });
  }

  it('counts hits in /metrics like any query', async () => {
    const q = buildQuery('api.demo.svc.cluster.local', 1, {});
    await sendRaw(s.port, q);
    const res = await fetch(`http://${s.ops!.addresses.metrics}/metrics`);
    const text = await res.text();
    const count = (t: string) => Number(/coredns_dns_requests_total\{[^}]*zone="cluster\.local\."[^}]*type="A"[^}]*\} (\d+)/.exec(t)?.[1] ?? 0);
    const n0 = count(text);
    for (let i = 0; i < 10; i++) await sendRaw(s.port, q);
    const n1 = count(await (await fetch(`http://${s.ops!.addresses.metrics}/metrics`)).text());
    assert.equal(n1 - n0, 10);
  });

  it('never serves a cached answer after the index changed', async () => {
    const q = buildQuery('web.demo.svc.cluster.local', 1, {});
    const first = (await sendRaw(s.port, q))!;
    assert.ok(first.includes(Buffer.from([10, 96, 100, 10])));
    const file = path.join(dir, '20-demo-services.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('clusterIP: 10.96.100.10', 'clusterIP: 10.96.100.99'));
    let now = first;
    await eventually(3000, 'the new address is served', async () => (now = (await sendRaw(s.port, q))!).includes(Buffer.from([10, 96, 100, 99])));
    assert.ok(!now.includes(Buffer.from([10, 96, 100, 10])), 'the old one is gone');
  });

  it('keeps the client spelling: a mixed-case query takes the full path and gets its own case back', async () => {
    const r = (await sendRaw(s.port, buildQuery('Web.Demo.svc.cluster.local', 1, {})))!;
    assert.ok(r.includes(Buffer.from('Web', 'latin1')));
  });
});

describe('answer cache: replayed forwarded answers', function () {
  this.timeout(20_000);
  it('replays a cached upstream answer with its TTL counted down, counts cache hits, and refreshes after expiry', async () => {
    const { startFakeUpstream, aReply } = await import('../helpers/fake-upstream.js');
    const { loadConfig } = await import('../../src/config/config.js');
    const { startServer } = await import('../../src/server/server.js');
    const { silentLogger } = await import('../../src/base/log.js');
    const f = await startFakeUpstream((q) => [aReply(q, '198.51.100.20', 100)]);
    const config = loadConfig('serve', ['--dns-addr', '127.0.0.1:0', '--metrics-addr', 'off', '--health-addr', 'off', '--ready-addr', 'off', '--manifests', 'examples', '--upstream', f.address, '--cache-ttl', '2'], {});
    const clock = new ManualClock();
    const s = await startServer(config, silentLogger, [], clock);
    const port = s.udp[0]!.address.port;
    try {
      const ask = async () => {
        const r = (await sendRaw(port, buildQuery('replay.example', 1, {})))!;
        return r.readUInt32BE(r.length - 10); // the TTL of the one A record, the last record
      };
      const upstreamAsked = () => f.queries.filter((q) => q.questions[0]?.name === 'replay.example').length;
      assert.equal(await ask(), 100); // miss: from the upstream
      assert.equal(await ask(), 100); // forward-cache hit through the full path; stored for replay
      assert.equal(await ask(), 100); // replay
      clock.advance(1100);
      assert.equal(await ask(), 99, 'the replayed TTL counts down');
      assert.equal(upstreamAsked(), 1, 'one upstream query so far');
      assert.ok(s.forwarder!.cache.stats.hits.success >= 3, 'replays count as cache hits');
      clock.advance(1200);
      await ask();
      assert.equal(upstreamAsked(), 2, 'after --cache-ttl the answer is fetched again, not replayed');
    } finally {
      await s.stop();
      await f.stop();
    }
  });
});
