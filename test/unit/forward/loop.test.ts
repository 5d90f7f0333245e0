// Loop detection on a fake clock: a probe that comes back marks its upstream, a timeout re-probes at most
// every 30 s, probe names are forgotten after 5 s.
import assert from 'node:assert/strict';
import { silentLogger } from '../../../src/base/log.js';
import { decodeQuery } from '../../../src/dns/decode.js';
import type { Query } from '../../../src/dns/message.js';
import { LoopDetector } from '../../../src/forward/loop.js';
import type { Upstream } from '../../../src/forward/upstream.js';
import { PASS } from '../../../src/resolve/handler.js';
import { ManualClock } from '../../helpers/clock.js';
import { buildQuery } from '../../helpers/dns-client.js';

function fakeUpstream(): Upstream & { asked: string[] } {
  const asked: string[] = [];
  return { name: '127.0.0.53:53', looping: false, asked, exchange: async (q: { name: string }) => {
      asked.push(q.name);
      throw new Error('no reply');
    },
  } as unknown as Upstream & { asked: string[] };
}
const queryFor = (name: string): Query => (decodeQuery(buildQuery(name, 13, {})) as { query: Query }).query;
const settle = () => new Promise((r) => setImmediate(r));

describe('forward/loop', () => {
  it('a probe that arrives back marks the upstream as looping and is answered SERVFAIL', async () => {
    const clock = new ManualClock();
    const loop = new LoopDetector(silentLogger, clock);
    const u = fakeUpstream();
    loop.probe(u);
    const probe = u.asked[0]!;
    const r = loop.handle(queryFor(probe));
    assert.notEqual(r, PASS);
    assert.equal(u.looping, true);
    assert.deepEqual(loop.detected, ['127.0.0.53:53']);
    assert.equal(loop.handle(queryFor('www.example')), PASS, 'other names pass');
  });

  it('re-probes a suspect upstream at most every 30 s', () => {
    const clock = new ManualClock();
    const loop = new LoopDetector(silentLogger, clock);
    const u = fakeUpstream();
    loop.probe(u);
    loop.suspect(u);
    assert.equal(u.asked.length, 1);
    clock.advance(30_000);
    loop.suspect(u);
    assert.equal(u.asked.length, 2);
  });

  it('forgets a probe name 5 s after its exchange ended', async () => {
    const clock = new ManualClock();
    const loop = new LoopDetector(silentLogger, clock);
    const u = fakeUpstream();
    loop.probe(u);
    await settle();
    clock.advance(5000);
    assert.equal(loop.handle(queryFor(u.asked[0]!)), PASS);
    assert.equal(u.looping, false);
  });
});
