// Replies waiting for a client that does not read: framed in order, counted exactly, and emptied by take().
import assert from 'node:assert/strict';
import { FrameBacklog } from '../../../src/dns/frame-backlog.js';
import { FrameSplitter } from '../../../src/dns/framing.js';
import { pushTake } from '../../helpers/frames.js';

describe('dns/frame-backlog', () => {
  it('gives back every message framed, in order, across slabs, and is empty afterwards', () => {
    const b = new FrameBacklog();
    const messages = Array.from({ length: 500 }, (_, i) => Buffer.alloc(20 + (i % 90), i & 0xff));
    messages.push(Buffer.alloc(40_000, 7)); // larger than a slab
    messages.push(Buffer.alloc(12, 9));
    for (const m of messages) b.push(m);
    assert.equal(b.count, messages.length);
    assert.equal(b.bytes, messages.reduce((n, m) => n + m.length + 2, 0));
    const out = b.take();
    assert.ok(out.length > 1 && out.length < 10, `${out.length} buffers`);
    assert.deepEqual(pushTake(new FrameSplitter(), Buffer.concat(out)), messages);
    assert.equal(b.bytes, 0);
    assert.equal(b.count, 0);
    assert.deepEqual(b.take(), []);
  });
});
