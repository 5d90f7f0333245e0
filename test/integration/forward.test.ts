// Forwarding and caching against real upstreams on loopback: NSD serving test zones, plus scripted fake
// upstreams for the faults (silence, wrong IDs, slowness, loops). Clients are dig and our dns2-decoding client.
import { eventually } from '../helpers/eventually.js';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../cluster/ports.js';
import { dig } from '../helpers/dig.js';
import { query } from '../helpers/dns-client.js';
import { type FakeUpstream, aReply, sleep, startFakeUpstream } from '../helpers/fake-upstream.js';
import { EXAMPLE_ZONE, type Nsd, startNsd } from '../helpers/nsd.js';
import { ManualClock } from '../helpers/clock.js';
import dns2 from 'dns2';

const { Packet } = dns2;
import type { TestServer } from '../helpers/server.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { silentLogger } from '../../src/base/log.js';
import { startServer } from '../../src/server/server.js';

const ZONE = `${EXAMPLE_ZONE}alias IN CNAME www.example.test.
${Array.from({ length: 120 }, (_, i) => `big IN A 192.0.2.${i + 1}`).join('\n')}
`;
const REVERSE = `$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@ IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60
@ IN NS ns.example.test.
10 IN PTR www.example.test.
`;

/** cluster-dns serving the demo cluster (or `manifests`) and forwarding with `args`; never the machine's resolv.conf. */
async function forwarding(args: string[], manifests = 'examples', clock?: ManualClock): Promise<TestServer> {
  const config = loadConfig('serve', ['--dns-addr', '127.0.0.1:0', '--metrics-addr', 'off', '--health-addr', 'off', '--ready-addr', 'off', '--manifests', manifests, ...args], {});
  const server = await startServer(config, silentLogger, [], clock);
  return Object.assign(server, { port: server.udp[0]!.address.port });
}

describe('forwarding and cache', function () {
  this.timeout(30_000);
  let nsd: Nsd;
  const cleanup: Array<() => Promise<void>> = [];

  before(async () => {
    nsd = await startNsd({ 'example.test': ZONE, '2.0.192.in-addr.arpa': REVERSE });
  });
  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()!();
  });
  after(async () => nsd?.stop());

  async function start(args: string[], manifests?: string, clock?: ManualClock): Promise<TestServer> {
    const s = await forwarding(args, manifests, clock);
    cleanup.push(() => s.stop());
    return s;
  }
  async function fake(respond: Parameters<typeof startFakeUpstream>[0]): Promise<FakeUpstream> {
    const f = await startFakeUpstream(respond);
    cleanup.push(() => f.stop());
    return f;
  }
  const upstreamOf = (s: TestServer) => s.forwarder!.defaultGroup.upstreams[0]!;

  it('forwards outside names, relays the answer, and serves the repeat from the cache with the TTL counted down', async () => {
    const clock = new ManualClock();
    const s = await start(['--upstream', `127.0.0.1:${nsd.port}`], undefined, clock);
    const first = await dig(s.port, 'www.example.test', 'A');
    assert.equal(first.status, 'NOERROR');
    assert.deepEqual(first.answer, ['www.example.test. 300 IN A 192.0.2.10']);
    assert.ok(first.flags.includes('aa'), "a relayed answer keeps the upstream's AA (NSD is authoritative), as CoreDNS's forward does");
    clock.advance(1100);
    const second = await dig(s.port, 'WWW.example.TEST', 'A');
    assert.match(second.answer[0]!, /^WWW\.example\.TEST\. 299 IN A 192\.0\.2\.10$/);
    assert.ok(second.flags.includes('aa'), "a cache hit is authoritative, as CoreDNS's cache makes it");
    assert.equal(upstreamOf(s).stats.queries, 1 + 1 /* loop probe */);
    assert.equal(s.forwarder!.cache.stats.hits.success, 1);
  });

  it('caches NXDOMAIN for min(SOA TTL, SOA minimum, --cache-negative-ttl) and keeps the SOA', async () => {
    const s = await start(['--upstream', `127.0.0.1:${nsd.port}`, '--cache-negative-ttl', '20']);
    const a = await dig(s.port, 'nope.example.test', 'A');
    assert.equal(a.status, 'NXDOMAIN');
    assert.match(a.authority[0]!, /^example\.test\. 60 IN SOA /);
    const b = await dig(s.port, 'nope.example.test', 'A');
    assert.equal(b.status, 'NXDOMAIN');
    assert.equal(upstreamOf(s).stats.queries, 2);
    assert.equal(s.forwarder!.cache.stats.hits.denial, 1);
  });

  it('retries over TCP when the upstream truncates, and truncates again for a small client', async () => {
    const s = await start(['--upstream', `127.0.0.1:${nsd.port}`]);
    const tcp = await dig(s.port, 'big.example.test', 'A', ['+tcp']);
    assert.equal(tcp.answer.length, 120);
    assert.equal(upstreamOf(s).stats.tcpRetries, 1);
    const udp = await query(s.port, 'big.example.test', 1);
    assert.equal(udp.header.tc, 1, 'without EDNS the cached 120 records do not fit 512 bytes');
  });

  it('fails over at once from a closed port, and after the per-try timeout from a silent server', async () => {
    const dead = await freePort();
    const silent = await fake(() => []);
    const s = await start(['--upstream', `127.0.0.1:${dead}`, '--upstream', silent.address, '--upstream', `127.0.0.1:${nsd.port}`, '--policy', 'sequential', '--upstream-timeout', '300']);
    const t0 = Date.now();
    const r = await dig(s.port, 'www.example.test', 'AAAA');
    const ms = Date.now() - t0;
    assert.deepEqual(r.answer, ['www.example.test. 300 IN AAAA 2001:db8::10']);
    assert.ok(ms >= 280 && ms < 1500, `answered in ${ms} ms: one timeout, no wait on the closed port`);
    const [closed, quiet] = s.forwarder!.defaultGroup.upstreams;
    assert.ok(closed!.stats.failures >= 1);
    assert.ok(quiet!.stats.failures >= 1);
  });

  it('answers SERVFAIL when every upstream fails, and the answer as soon as an upstream is back (its own SERVFAIL is not cached)', async () => {
    let up = false;
    const f = await fake((q) => (up ? [aReply(q, '198.51.100.7')] : []));
    const s = await start(['--upstream', f.address, '--upstream-timeout', '200', '--cache-servfail-ttl', '5']);
    assert.equal((await dig(s.port, 'back.example.test', 'A')).status, 'SERVFAIL');
    up = true;
    const r = await dig(s.port, 'back.example.test', 'A');
    assert.deepEqual(r.answer, ['back.example.test. 60 IN A 198.51.100.7'], 'a SERVFAIL of its own would have been replayed for 5 s');
    assert.equal(s.forwarder!.cache.stats.hits.servfail, 0);
  });

  it("caches an upstream's SERVFAIL for --cache-servfail-ttl, as CoreDNS's cache does", async () => {
    const f = await fake((q) => {
      const r = Packet.createResponseFromRequest(q);
      r.header.ra = 1;
      r.header.rcode = 2;
      return [r.toBuffer()];
    });
    const s = await start(['--upstream', f.address, '--cache-servfail-ttl', '5']);
    assert.equal((await dig(s.port, 'broken.example.test', 'A')).status, 'SERVFAIL');
    const before = f.queries.length;
    assert.equal((await dig(s.port, 'broken.example.test', 'A')).status, 'SERVFAIL');
    assert.equal(s.forwarder!.cache.stats.hits.servfail, 1, 'the repeat is answered from the cache');
    assert.equal(f.queries.length, before);
  });

  it('ignores replies with the wrong ID or question and takes the matching one', async () => {
    const f = await fake((q) => [aReply(q, '198.51.100.1', 60, (q.header.id + 1) & 0xffff), aReply(q, '198.51.100.2')]);
    const s = await start(['--upstream', f.address]);
    const r = await dig(s.port, 'spoof.example', 'A');
    assert.deepEqual(r.answer.map((l) => l.split(' ').pop()), ['198.51.100.2']);
    assert.ok(upstreamOf(s).stats.mismatched >= 1);
  });

  it('coalesces 100 concurrent identical misses into one upstream query', async () => {
    const f = await fake(async (q) => {
      await sleep(200);
      return [aReply(q, '198.51.100.7')];
    });
    const s = await start(['--upstream', f.address]);
    await sleep(100); // let the loop probe go first
    const probes = f.queries.length;
    const replies = await Promise.all(Array.from({ length: 100 }, () => query(s.port, 'same.example', 1)));
    assert.ok(replies.every((r) => r.answers[0]?.address === '198.51.100.7'));
    assert.equal(f.queries.length - probes, 1);
    assert.equal(s.forwarder!.stats.coalesced, 99);
  });

  it('answers REFUSED beyond --max-concurrent and counts it', async () => {
    const f = await fake(async (q) => {
      await sleep(300);
      return [aReply(q, '198.51.100.8')];
    });
    const s = await start(['--upstream', f.address, '--max-concurrent', '1']);
    const [a, b] = await Promise.all([query(s.port, 'one.example', 1), query(s.port, 'two.example', 1)]);
    assert.deepEqual([a.header.rcode, b.header.rcode].sort(), [0, 5]);
    assert.equal(s.forwarder!.stats.maxConcurrentRejects, 1);
  });

  it('routes stub domains to their own servers', async () => {
    const corp = await fake((q) => [aReply(q, '203.0.113.5')]);
    const s = await start(['--upstream', `127.0.0.1:${nsd.port}`, '--stub-domain', `corp.test=${corp.address}`]);
    assert.deepEqual((await dig(s.port, 'host.corp.test', 'A')).answer.map((l) => l.split(' ').pop()), ['203.0.113.5']);
    assert.deepEqual((await dig(s.port, 'www.example.test', 'A')).answer.map((l) => l.split(' ').pop()), ['192.0.2.10']);
    assert.ok(corp.queries.some((q) => q.questions[0]!.name === 'host.corp.test'));
  });

  it('carries the client DO and CD bits upstream and copies RD', async () => {
    const f = await fake((q) => [aReply(q, '198.51.100.9')]);
    const s = await start(['--upstream', f.address]);
    await dig(s.port, 'flags.example', 'A', ['+dnssec', '+cdflag', '+norecurse']);
    const i = f.queries.findIndex((x) => x.questions[0]?.name === 'flags.example');
    const opt = f.queries[i]!.additionals.find((r) => r.type === 41);
    assert.equal(opt?.doFlag, true);
    const flags = f.raw[i]!.readUInt16BE(2);
    assert.equal(flags & 0x0100, 0, 'RD copied (clear)');
    assert.equal(flags & 0x0010, 0x0010, 'CD copied (set)');
  });

  it('never forwards names in the cluster zone: a search-path miss is NXDOMAIN from the index', async () => {
    const f = await fake((q) => [aReply(q, '198.51.100.10')]);
    const s = await start(['--upstream', f.address]);
    await sleep(100);
    const before = f.queries.length;
    const r = await dig(s.port, 'api.example.test.default.svc.cluster.local', 'A');
    assert.equal(r.status, 'NXDOMAIN');
    assert.equal(f.queries.length, before);
  });

  it('sends PTR for non-cluster addresses to the upstream, and keeps cluster PTRs authoritative', async () => {
    const s = await start(['--upstream', `127.0.0.1:${nsd.port}`]);
    assert.deepEqual((await dig(s.port, '192.0.2.10', 'PTR', ['-x'])).answer, ['10.2.0.192.in-addr.arpa. 300 IN PTR www.example.test.']);
    const cluster = await dig(s.port, '10.96.100.10', 'PTR', ['-x']);
    assert.deepEqual(cluster.answer, ['10.100.96.10.in-addr.arpa. 5 IN PTR web.demo.svc.cluster.local.']);
    assert.ok(cluster.flags.includes('aa'));
  });

  it('chases an ExternalName outside the zone through the forwarder', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-ext-'));
    fs.cpSync('examples', dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '50-ext.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: docs, namespace: demo}\nspec: {type: ExternalName, externalName: alias.example.test}\n');
    const s = await start(['--upstream', `127.0.0.1:${nsd.port}`], dir);
    const r = await dig(s.port, 'docs.demo.svc.cluster.local', 'A');
    assert.deepEqual(r.answer, [
      'docs.demo.svc.cluster.local. 5 IN CNAME alias.example.test.',
      'alias.example.test. 300 IN CNAME www.example.test.',
      'www.example.test. 300 IN A 192.0.2.10',
    ]);
    assert.ok(r.flags.includes('aa'));
  });

  it('serves stale answers (TTL 30) with --serve-stale when the upstream stops answering', async () => {
    let alive = true;
    const f = await fake((q) => (alive ? [aReply(q, '198.51.100.11', 1)] : []));
    const clock = new ManualClock();
    const s = await start(['--upstream', f.address, '--serve-stale', '--upstream-timeout', '200', '--max-fails', '100'], undefined, clock);
    assert.equal((await dig(s.port, 'stale.example', 'A')).answer.length, 1);
    alive = false;
    clock.advance(1200);
    const r = await dig(s.port, 'stale.example', 'A');
    assert.deepEqual(r.answer, ['stale.example. 30 IN A 198.51.100.11']);
  });

  it('detects a forwarding loop, stops using that upstream, explains it, and keeps serving the cluster zone', async () => {
    // A "resolver" that forwards every query to cluster-dns itself, as a node's 127.0.0.53 can.
    const loopSocket = dgram.createSocket('udp4');
    let target = 0;
    loopSocket.on('message', (msg, rinfo) => {
      const out = dgram.createSocket('udp4');
      out.on('message', (reply) => {
        loopSocket.send(reply, rinfo.port, rinfo.address);
        out.close();
      });
      out.send(msg, target, '127.0.0.1');
      setTimeout(() => {
        try {
          out.close();
        } catch {
          /* already closed */
        }
      }, 3000).unref();
    });
    await new Promise<void>((r) => loopSocket.bind(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => loopSocket.close(() => r())));
    const loopPort = (loopSocket.address() as { port: number }).port;
    // The looping resolver needs our port before our probe goes out: start, then point it at us and re-probe.
    const server = await start(['--upstream', `127.0.0.1:${loopPort}`]);
    target = server.port;
    server.loop!.probe(server.forwarder!.defaultGroup.upstreams[0]!);
    await eventually(5000, 'the loop is detected', () => server.loop!.detected.length > 0);
    assert.deepEqual(server.loop!.detected, [`127.0.0.1:${loopPort}`]);
    const t0 = Date.now();
    const out = await query(target, 'www.example.test', 1, { edns: 1232 });
    assert.equal(out.header.rcode, 2);
    assert.ok(Date.now() - t0 < 200, 'a fast SERVFAIL');
    const opt = out.additionals.find((r) => r.type === 41);
    assert.match(JSON.stringify(opt?.rdata ?? []), /forwarding loop/);
    assert.equal((await dig(target, 'web.demo.svc.cluster.local', 'A')).answer.length, 1);
  });

  it('stops start-up with a clear message for a bad --upstream or an unreadable resolv.conf', async () => {
    assert.throws(() => loadConfig('serve', ['--upstream', 'not-an-ip'], {}), /--upstream "not-an-ip": want an IP address/);
    assert.throws(() => loadConfig('serve', ['--stub-domain', 'x.cluster.local=10.0.0.1'], {}), /never forwarded/);
    const config = loadConfig('serve', ['--dns-addr', '127.0.0.1:0', '--metrics-addr', 'off', '--health-addr', 'off', '--ready-addr', 'off', '--manifests', 'examples', '--resolv-conf', '/nonexistent/resolv.conf'], {});
    await assert.rejects(startServer(config, silentLogger), (e: unknown) => e instanceof ConfigError && /cannot read \/nonexistent\/resolv\.conf: ENOENT/.test(e.message));
  });
});
