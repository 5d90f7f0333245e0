// The forwarder on its own, against scripted upstreams on loopback and a fake clock: one upstream query per
// distinct question in flight, the concurrency cap, stub-domain routing, SERVFAIL kept briefly, stale answers,
// replay lifetimes, and every upstream round trip reported through onExchange.
import assert from 'node:assert/strict';
import { silentLogger } from '../../../src/base/log.js';
import { ResponseCache } from '../../../src/forward/cache.js';
import { Forwarder, type ForwarderOptions, type ForwardQuestion } from '../../../src/forward/forwarder.js';
import { parseUpstream } from '../../../src/net/address.js';
import { ManualClock } from '../../helpers/clock.js';
import { type FakeUpstream, aReply, sleep, startFakeUpstream } from '../../helpers/fake-upstream.js';

const q = (name: string): ForwardQuestion => ({ name, lowerName: name.toLowerCase(), type: 1, qclass: 1, dnssecOk: false, checkingDisabled: false, recursionDesired: true });
const CACHE = { maxEntries: 100, maxBytes: 1 << 20, positiveTtl: 30, negativeTtl: 30, servfailTtl: 5, staleSeconds: 0 };

describe('forward/forwarder', function () {
  this.timeout(10_000);
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()!();
  });

  async function upstream(respond: Parameters<typeof startFakeUpstream>[0]): Promise<FakeUpstream> {
    const f = await startFakeUpstream(respond);
    cleanup.push(() => f.stop());
    return f;
  }

  function forwarder(upstreams: FakeUpstream[], opts: Partial<ForwarderOptions> & { stubs?: Array<[string, FakeUpstream]>; stale?: number } = {}) {
    const clock = new ManualClock();
    const exchanges: string[] = [];
    const cache = new ResponseCache({ ...CACHE, staleSeconds: opts.stale ?? 0 }, () => clock.now());
    const f = new Forwarder(
      upstreams.map((u) => parseUpstream(u.address)),
      (opts.stubs ?? []).map(([domain, u]) => ({ domain, upstreams: [parseUpstream(u.address)] })),
      { policy: 'sequential', tryTimeoutMs: 200, queryTimeoutMs: 1000, maxConcurrent: 100, maxFails: 100, healthCheckMs: 500, clock, onExchange: (to, rcode) => exchanges.push(`${to} ${rcode}`), ...opts },
      cache,
      silentLogger,
    );
    cleanup.push(() => f.close());
    return { f, clock, exchanges };
  }

  it('forwards, caches, and lets the fast path replay a cache hit for as long as it stays fresh', async () => {
    const u = await upstream((m) => [aReply(m, '198.51.100.1', 60)]);
    const { f, clock, exchanges } = forwarder([u]);
    const first = await f.answer(q('www.example'));
    assert.equal(first.source, 'forward');
    assert.equal(first.replayFor, undefined, 'an answer fresh from the upstream is not replayed');
    assert.deepEqual(exchanges, [`${u.address} 0`]);
    clock.advance(10_000);
    const second = await f.answer(q('WWW.example'));
    assert.equal(second.source, 'cache');
    assert.equal(second.replayFor, 20, 'replayable for the 20 s the entry has left (cache-ttl 30)');
    assert.equal(second.answer[0]!.ttl, 50);
    assert.equal(second.answer[0]!.name, 'WWW.example');
    assert.equal(u.queries.length, 1);
  });

  it('one upstream query for identical misses in flight', async () => {
    const u = await upstream(async (m) => {
      await sleep(100);
      return [aReply(m, '198.51.100.2')];
    });
    const { f } = forwarder([u]);
    const replies = await Promise.all(Array.from({ length: 20 }, () => f.answer(q('slow.example'))));
    assert.ok(replies.every((r) => r.rcode === 0));
    assert.equal(u.queries.length, 1);
    assert.equal(f.stats.coalesced, 19);
  });

  it('REFUSED beyond --max-concurrent distinct questions in flight', async () => {
    const u = await upstream(async (m) => {
      await sleep(100);
      return [aReply(m, '198.51.100.3')];
    });
    const { f } = forwarder([u], { maxConcurrent: 2 });
    const replies = await Promise.all(['a', 'b', 'c'].map((n) => f.answer(q(`${n}.example`))));
    assert.deepEqual(replies.map((r) => r.rcode), [0, 0, 5]);
    assert.equal(f.stats.maxConcurrentRejects, 1);
  });

  it('sends a stub domain to its own servers, the longest domain first', async () => {
    const main = await upstream((m) => [aReply(m, '198.51.100.4')]);
    const corp = await upstream((m) => [aReply(m, '10.1.0.1')]);
    const deep = await upstream((m) => [aReply(m, '10.2.0.1')]);
    const { f } = forwarder([main], { stubs: [['corp.example', corp], ['a.corp.example', deep]] });
    const addr = async (name: string) => ((await f.answer(q(name))).answer[0] as { address: string }).address;
    assert.equal(await addr('www.example'), '198.51.100.4');
    assert.equal(await addr('x.corp.example'), '10.1.0.1');
    assert.equal(await addr('x.a.corp.example'), '10.2.0.1');
  });

  it('SERVFAIL when no upstream answers, not cached; past --max-fails it fails at once without a try', async () => {
    const u = await upstream(() => []);
    const { f } = forwarder([u], { maxFails: 2 });
    assert.equal((await f.answer(q('dead.example'))).rcode, 2);
    assert.equal((await f.answer(q('dead.example'))).rcode, 2);
    const asked = u.queries.length;
    // Down after two failures: answered without a try (no pile-up of clients waiting on a dead upstream).
    assert.equal((await f.answer(q('dead.example'))).rcode, 2);
    assert.equal(u.queries.length, asked, 'no try once the upstream counts as down');
    assert.equal(f.stats.allDown, 1);
    assert.equal(f.cache.stats.hits.servfail, 0, 'no failure of its own is kept (the integration test sees the answer return)');
  });

  it('with a stale window: an expired answer with TTL 30 when every upstream fails, never replayed', async () => {
    let alive = true;
    const u = await upstream((m) => (alive ? [aReply(m, '198.51.100.5', 1)] : []));
    const { f, clock } = forwarder([u], { stale: 3600 });
    await f.answer(q('stale.example'));
    alive = false;
    clock.advance(2000);
    const r = await f.answer(q('stale.example'));
    assert.equal(r.rcode, 0);
    assert.equal(r.answer[0]!.ttl, 30);
    assert.equal(r.replayFor, undefined);
  });
});
