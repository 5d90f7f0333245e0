// The forward cache's rules as a table (RFC 2308, CoreDNS cache): what is stored and for how long, on a fake
// clock; then freshness, the stale window, and TTLs counted down with the client's spelling.
import assert from 'node:assert/strict';
import type { DecodedMessage } from '../../../src/dns/decode-message.js';
import type { RR } from '../../../src/dns/message.js';
import { ResponseCache, cacheKey } from '../../../src/forward/cache.js';
import { ManualClock } from '../../helpers/clock.js';

const a = (ttl: number): RR => ({ name: 'www.example', type: 1, ttl, address: '192.0.2.1', bytes: Uint8Array.from([192, 0, 2, 1]) });
const soa = (ttl: number, minimum: number): RR => ({ name: 'example', type: 6, ttl, soa: { mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum } });
const msg = (over: Partial<DecodedMessage>): DecodedMessage => ({ id: 1, flags: 0x8180, rcode: 0, question: undefined, answer: [], authority: [], additional: [], opt: undefined, ...over });
const OPTS = { maxEntries: 100, maxBytes: 1 << 20, positiveTtl: 30, negativeTtl: 20, servfailTtl: 5, staleSeconds: 0 };

// [what, message, seconds stored (undefined: not stored)]
const TABLE: Array<[string, DecodedMessage, number | undefined]> = [
  ['a positive answer lives its smallest TTL', msg({ answer: [a(10), a(12)] }), 10],
  ['… capped by --cache-ttl', msg({ answer: [a(300)] }), 30],
  ['NXDOMAIN with an SOA: min(SOA TTL, minimum, --cache-negative-ttl)', msg({ rcode: 3, authority: [soa(60, 15)] }), 15],
  ['NODATA with an SOA: capped by --cache-negative-ttl', msg({ authority: [soa(600, 600)] }), 20],
  ['NXDOMAIN without an SOA: not stored (RFC 2308 §5)', msg({ rcode: 3 }), undefined],
  ['SERVFAIL: --cache-servfail-ttl', msg({ rcode: 2 }), 5],
  ['REFUSED: asked again next time', msg({ rcode: 5 }), undefined],
  ['a truncated reply: never', msg({ flags: 0x8380, answer: [a(60)] }), undefined],
  ['TTL 0: not stored', msg({ answer: [a(0)] }), undefined],
];

describe('forward/cache', () => {
  for (const [what, m, seconds] of TABLE) {
    it(what, () => {
      const clock = new ManualClock();
      const cache = new ResponseCache(OPTS, () => clock.now());
      assert.equal(cache.put('k', m), seconds);
      if (seconds === undefined) return assert.equal(cache.get('k'), undefined);
      clock.advance(seconds * 1000 - 1);
      assert.ok(cache.get('k'), 'fresh until its time is up');
      clock.advance(1);
      assert.equal(cache.get('k'), undefined, 'then gone');
    });
  }

  it('keys on the lower-cased name, type, class, DO and CD', () => {
    const base = { name: 'WWW.Example', type: 1, qclass: 1, dnssecOk: false, checkingDisabled: false };
    assert.equal(cacheKey(base), cacheKey({ ...base, name: 'www.example' }));
    assert.notEqual(cacheKey(base), cacheKey({ ...base, dnssecOk: true }));
    assert.notEqual(cacheKey(base), cacheKey({ ...base, checkingDisabled: true }));
    assert.notEqual(cacheKey(base), cacheKey({ ...base, type: 28 }));
  });

  it('counts hits, misses and replays by kind', () => {
    const cache = new ResponseCache(OPTS, () => 0);
    cache.put('k', msg({ answer: [a(10)] }));
    cache.get('k');
    cache.get('nope');
    cache.countReplay(0, 1);
    cache.countReplay(3, 0);
    assert.deepEqual(cache.stats.hits, { success: 2, denial: 1, servfail: 0 });
    assert.equal(cache.stats.misses, 1);
  });

  it('serves stale entries inside the stale window only when asked for them', () => {
    const clock = new ManualClock();
    const cache = new ResponseCache({ ...OPTS, staleSeconds: 60 }, () => clock.now());
    cache.put('k', msg({ answer: [a(10)] }));
    clock.advance(11_000);
    assert.equal(cache.get('k'), undefined);
    assert.ok(cache.get('k', { stale: true }));
    clock.advance(60_000);
    assert.equal(cache.get('k', { stale: true }), undefined);
  });

  it('counts TTLs down, gives the client its spelling back, and uses 30 s for stale answers', () => {
    const clock = new ManualClock();
    const cache = new ResponseCache(OPTS, () => clock.now());
    cache.put('k', msg({ answer: [a(10)] }));
    const e = cache.get('k')!;
    clock.advance(3500);
    const view = ResponseCache.view(e, clock.now(), { name: 'WWW.example', lowerName: 'www.example' });
    assert.equal(view.answer[0]!.ttl, 7);
    assert.equal(view.answer[0]!.name, 'WWW.example');
    assert.equal(ResponseCache.view(e, clock.now(), { name: 'www.example', lowerName: 'www.example' }, 30).answer[0]!.ttl, 30);
  });
});
