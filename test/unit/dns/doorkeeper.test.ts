// The replay cache's admission filter: a question is admitted the second time it is seen, a flood of names
// seen once admits almost none of them, and the filter starts again empty before it fills.
import assert from 'node:assert/strict';
import { Doorkeeper } from '../../../src/dns/doorkeeper.js';

describe('dns/doorkeeper', () => {
  it('admits a question the second time, not the first', () => {
    const d = new Doorkeeper(16);
    assert.equal(d.admit('web.demo.svc.cluster.local A'), false);
    assert.equal(d.admit('web.demo.svc.cluster.local A'), true);
    assert.equal(d.admit('web.demo.svc.cluster.local A'), true);
    assert.equal(d.admit('web.demo.svc.cluster.local AAAA'), false, 'another question is its own');
  });

  it('admits under 2% of names that are each asked once, however many there are', () => {
    const d = new Doorkeeper(16);
    let admitted = 0;
    const n = 200_000; // fifty times what the 2^16-bit filter holds before it clears
    for (let i = 0; i < n; i++) if (d.admit(`h${i.toString(36)}.demo.svc.cluster.local`)) admitted++;
    assert.ok(admitted / n < 0.02, `${admitted} of ${n} admitted`);
    assert.ok(admitted > 0, 'a Bloom filter errs sometimes: this would pass with no filter at all otherwise');
  });

  it('forgets everything after a bounded number of new questions, so it never fills', () => {
    const d = new Doorkeeper(10); // clears after 64 new questions
    d.admit('kept');
    for (let i = 0; i < 100; i++) d.admit(`other-${i}`); // past 64 new ones, whatever few it takes for seen ones
    assert.equal(d.admit('kept'), false, 'seen before the clear: a first sighting again');
    assert.equal(d.admit('kept'), true);
  });

  it('refuses a size it cannot hold', () => {
    assert.throws(() => new Doorkeeper(4), /log2Bits 4/);
    assert.throws(() => new Doorkeeper(31), /log2Bits 31/);
  });
});
