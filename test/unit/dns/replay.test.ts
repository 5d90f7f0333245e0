// The replay module on its own: which queries it keys, that a replay equals the full path's bytes with the
// client's ID, RD and CD, that forwarded answers count their TTLs down on a fake clock, and when entries go.
import assert from 'node:assert/strict';
import { decodeQuery } from '../../../src/dns/decode.js';
import { encodeReply } from '../../../src/dns/encode.js';
import type { Query, Reply } from '../../../src/dns/message.js';
import { Doorkeeper } from '../../../src/dns/doorkeeper.js';
import { ReplayCache, type ReplayEntry, replayQuestion, replayableForGeneration } from '../../../src/dns/replay.js';
import { addressRotations } from '../../../src/resolve/loadbalance.js';
import { buildQuery } from '../../helpers/dns-client.js';

const A = (name: string, ttl: number, address: string): Reply['answer'][number] => ({ name, type: 1, ttl, address, bytes: Uint8Array.from(address.split('.').map(Number)) });
const answer = (name: string, ttl = 5): Reply => ({ rcode: 0, authoritative: true, answer: [A(name, ttl, '10.0.0.1')], authority: [], additional: [], source: 'cluster' });

function decoded(packet: Buffer): Query {
  const d = decodeQuery(packet);
  assert.equal(d.kind, 'query');
  return (d as { query: Query }).query;
}

describe('dns/replay', () => {
  it('keys plain lower-case queries and sends everything else down the full path', () => {
    assert.ok(replayQuestion(buildQuery('web.demo.svc.cluster.local', 1, {})));
    assert.equal(replayQuestion(buildQuery('web.demo.svc.cluster.local', 1, { edns: 1232, dnssecOk: true }))?.dnssecOk, true);
    assert.equal(replayQuestion(buildQuery('Web.demo.svc.cluster.local', 1, {})), undefined, 'upper case: 0x20 clients');
    const reply = buildQuery('a.b', 1, {});
    reply[2]! |= 0x80;
    assert.equal(replayQuestion(reply), undefined, 'QR set');
    assert.equal(replayQuestion(buildQuery('a.b', 1, {}).subarray(0, 14)), undefined, 'cut short');
    const withTrailer = Buffer.concat([buildQuery('a.b', 1, {}), Buffer.from([0])]);
    assert.equal(replayQuestion(withTrailer), undefined, 'bytes after the question');
    const edns = replayQuestion(buildQuery('a.b', 1, { edns: 1232 }));
    const plain = replayQuestion(buildQuery('a.b', 1, {}));
    assert.notEqual(edns?.key, plain?.key, 'EDNS and DO are part of the key');
  });

  it('with a doorkeeper, stores an answer the second time the full path gives it, not the first', () => {
    const cache = new ReplayCache(10, () => 0, undefined, new Doorkeeper(12));
    const packet = buildQuery('web.demo.svc.cluster.local', 1, { id: 1 });
    const q = replayQuestion(packet)!;
    const query = decoded(packet);
    cache.remember(query, q, [answer(query.name)], undefined, 7);
    assert.equal(cache.hit(packet, q, 7, true), undefined, 'asked once: not stored');
    assert.equal(cache.size, 0);
    cache.remember(query, q, [answer(query.name)], undefined, 7);
    assert.ok(cache.hit(packet, q, 7, true), 'asked again: stored');
  });

  it('replays the bytes the encoder wrote, with the ID, RD and CD of each new query', () => {
    const cache = new ReplayCache(10, () => 0);
    const first = buildQuery('web.demo.svc.cluster.local', 1, { id: 1, edns: 1232 });
    const q = replayQuestion(first)!;
    const query = decoded(first);
    cache.remember(query, q, [answer(query.name)], undefined, 7);
    const again = buildQuery('web.demo.svc.cluster.local', 1, { id: 4242, edns: 1232, rd: false });
    again[3]! |= 0x10; // CD
    const hit = cache.hit(again, replayQuestion(again)!, 7, true)!;
    assert.ok(hit);
    assert.equal(hit.entry.source, 'cluster');
    assert.deepEqual(hit.bytes, encodeReply(decoded(again), answer(query.name), { maxSize: 1232, advertisedPayload: 1232 }));
    assert.equal(cache.hit(again, replayQuestion(again)!, 8, true), undefined, 'a new generation forgets everything');
    assert.equal(cache.size, 0);
  });

  it('counts the TTLs of a forwarded answer down on the clock and forgets it when its time is up', () => {
    let now = 1_000_000;
    const cache = new ReplayCache(10, () => now);
    const packet = buildQuery('replay.example', 1, { id: 9 });
    const q = replayQuestion(packet)!;
    const forwarded: Reply = { ...answer('replay.example', 100), authoritative: false, source: 'cache' };
    cache.remember(decoded(packet), q, [forwarded], 2, 0);
    const ttl = (): number | undefined => cache.hit(packet, q, 0, true)?.bytes.readUInt32BE(packet.length + 2 + 2 + 2);
    assert.equal(ttl(), 100);
    now += 1999;
    assert.equal(ttl(), 99);
    assert.equal(cache.hit(packet, q, 0, true)?.entry.source, 'cache', 'a replayed forwarded answer is a cache hit');
    now += 1;
    assert.equal(ttl(), undefined, 'after replayFor seconds: the full path again');
  });

  it('does not replay what would not fit the client, nor truncated or unusual answers', () => {
    const cache = new ReplayCache(10, () => 0);
    const many: Reply = { ...answer('big.example'), answer: Array.from({ length: 40 }, (_, i) => A('big.example', 5, `10.0.0.${i}`)) };
    const udp = buildQuery('big.example', 1, {});
    cache.remember(decoded(udp), replayQuestion(udp)!, [many], undefined, 0);
    assert.equal(cache.hit(udp, replayQuestion(udp)!, 0, true), undefined, 'over 512 bytes on UDP: the full path truncates');
    assert.ok(cache.hit(udp, replayQuestion(udp)!, 0, false), 'TCP has room');
    assert.equal(replayableForGeneration({ ...answer('x'), truncated: true }), false);
    assert.equal(replayableForGeneration({ ...answer('x'), source: 'forward' }), false);
    assert.equal(replayableForGeneration({ ...answer('x'), ede: { code: 14, text: 'not ready' } }), false);
    assert.equal(replayableForGeneration({ ...answer('x'), rcode: 2 }), false);
    assert.equal(replayableForGeneration(answer('x')), true);
  });

  it('drops the oldest tenth when full', () => {
    const cache = new ReplayCache(10, () => 0);
    for (let i = 0; i < 11; i++) {
      const p = buildQuery(`n${i}.example`, 1, {});
      cache.remember(decoded(p), replayQuestion(p)!, [answer(`n${i}.example`)], undefined, 0);
    }
    assert.equal(cache.size, 10);
    const first = buildQuery('n0.example', 1, {});
    assert.equal(cache.hit(first, replayQuestion(first)!, 0, true), undefined);
  });

  it('is bounded in bytes too: big answers evict the oldest, and none is kept past a sixteenth of the budget', () => {
    const cache = new ReplayCache(1000, () => 0, 64 * 1024);
    const big = (name: string, n: number): Reply => ({ ...answer(name), answer: Array.from({ length: n }, (_, i) => A(name, 5, `10.0.${i >> 8}.${i & 255}`)) });
    for (let i = 0; i < 40; i++) {
      const p = buildQuery(`big${i}.example`, 1, {});
      cache.remember(decoded(p), replayQuestion(p)!, [big(`big${i}.example`, 100)], undefined, 0);
      assert.ok(cache.bytes <= 64 * 1024, `${cache.bytes} bytes after ${i + 1}`);
    }
    assert.ok(cache.size > 5 && cache.size < 40, `${cache.size} kept`);
    const huge = buildQuery('huge.example', 1, {});
    cache.remember(decoded(huge), replayQuestion(huge)!, [big('huge.example', 400)], undefined, 0);
    assert.equal(cache.hit(huge, replayQuestion(huge)!, 0, false), undefined, 'an answer over a sixteenth is not kept');
  });

  it('packs answers into slabs of its own, never slices of the shared pool (which would pin 8 KiB each)', () => {
    const cache = new ReplayCache(10, () => 0);
    const entries = ['own.example', 'two.example'].map((name) => {
      const p = buildQuery(name, 1, {});
      cache.remember(decoded(p), replayQuestion(p)!, [answer(name)], undefined, 0);
      return cache.hit(p, replayQuestion(p)!, 0, true)!.entry;
    });
    const [a, b] = entries as [ReplayEntry, ReplayEntry];
    assert.equal(a.slab.buf.buffer.byteLength, a.slab.buf.length, 'the slab owns its whole ArrayBuffer');
    assert.equal(a.slab, b.slab, 'small answers share a slab');
    assert.equal(b.at, a.at + a.len);
    assert.ok(cache.bytes >= a.slab.buf.length, 'the whole slab is counted');
  });

  it('stores a load-balanced answer once and rotates its address records as it replays them', () => {
    const cache = new ReplayCache(10, () => 0);
    const p = buildQuery('lb.example', 1, { edns: 1232 });
    const query = decoded(p);
    const four: Reply = { ...answer('lb.example'), answer: [1, 2, 3, 4].map((i) => A('lb.example', 5, `10.0.0.${i}`)) };
    const turns = addressRotations(four);
    cache.remember(query, replayQuestion(p)!, turns, undefined, 0);
    const entry = cache.hit(p, replayQuestion(p)!, 0, true)!.entry;
    assert.equal(entry.copies, 1);
    assert.equal(entry.rotate?.turns, 4);
    entry.next = 0;
    for (let r = 0; r < 6; r++) {
      const hit = cache.hit(p, replayQuestion(p)!, 0, true)!;
      assert.deepEqual(hit.bytes, encodeReply(query, turns[r % 4]!, { maxSize: 1232, advertisedPayload: 1232 }), `turn ${r}`);
    }
  });
});
