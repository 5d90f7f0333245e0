// Takes what a FrameSplitter holds as a list, for tests that compare whole streams of messages.
import assert from 'node:assert/strict';
import type { FrameSplitter } from '../../src/dns/framing.js';

/** Pushes `chunk`, then takes every complete message now held. */
export function pushTake(splitter: FrameSplitter, chunk: Buffer): Buffer[] {
  splitter.push(chunk);
  const out: Buffer[] = [];
  for (let m = splitter.next(); m; m = splitter.next()) out.push(m);
  assert.equal(splitter.ready, false, 'ready says no once next() has nothing');
  return out;
}
