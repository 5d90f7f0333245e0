// One upstream against a scripted server on loopback: down after --max-fails failures, health-checked on the
// clock (nothing happens until it moves), up again at the first answer of any kind.
import assert from 'node:assert/strict';
import { Upstream } from '../../../src/forward/upstream.js';
import { parseUpstream } from '../../../src/net/address.js';
import { ManualClock } from '../../helpers/clock.js';
import { eventually } from '../../helpers/eventually.js';
import { aReply, startFakeUpstream } from '../../helpers/fake-upstream.js';

const question = { name: 'www.example', type: 1, qclass: 1, recursionDesired: true, checkingDisabled: false, dnssecOk: false };

describe('forward/upstream', function () {
  this.timeout(10_000);

  it('marks itself down after max-fails, and up after a health check answers, on the clock', async () => {
    let answering = false;
    const f = await startFakeUpstream((q) => (answering ? [aReply(q, '192.0.2.1')] : []));
    const clock = new ManualClock();
    const u = new Upstream(parseUpstream(f.address), { maxFails: 2, healthCheckMs: 500, clock });
    try {
      await assert.rejects(u.exchange(question, 100), /no reply|timeout|within/i);
      assert.equal(u.down, false, 'one failure is not enough');
      await assert.rejects(u.exchange(question, 100));
      assert.equal(u.down, true);
      assert.equal(u.usable, false);
      const asked = f.queries.length;
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(f.queries.length, asked, 'no health check while the clock stands still');
      answering = true;
      clock.advance(500);
      await eventually(2000, 'up again after the health check', () => !u.down);
      assert.equal(f.queries.at(-1)!.questions[0]!.type, 2, 'the health check asks . NS');
      assert.equal((await u.exchange(question, 500)).rcode, 0);
    } finally {
      u.close();
      await f.stop();
    }
  });
});
