// The gate that "synced" and "drained" are made of.
import assert from 'node:assert/strict';
import { Latch, within } from '../../../src/base/latch.js';

describe('base/latch', () => {
  it('opens once, for good, and every waiter sees it', async () => {
    const l = new Latch();
    assert.equal(l.isOpen, false);
    const waiters = [l.promise, l.promise];
    l.open();
    l.open();
    await Promise.all(waiters);
    assert.equal(l.isOpen, true);
  });

  it('within: true when the promise settles in time, false after the time', async () => {
    assert.equal(await within(Promise.resolve(), 1000), true);
    assert.equal(await within(new Promise(() => undefined), 10), false);
  });
});
