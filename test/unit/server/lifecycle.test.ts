// The server's states: the moves the diagram has, and nothing else.
import assert from 'node:assert/strict';
import { Lifecycle, type ServerState } from '../../../src/server/lifecycle.js';

const walk = (...moves: ServerState[]): Lifecycle => {
  const l = new Lifecycle();
  for (const m of moves) l.to(m);
  return l;
};

describe('server/lifecycle', () => {
  it('starting → serving ⇄ reloading → lameduck → stopped', () => {
    const l = walk('serving', 'reloading', 'serving', 'reloading', 'lameduck', 'stopped');
    assert.equal(l.state, 'stopped');
    assert.ok(l.stopping);
  });

  it('a failed start stops at once', () => assert.equal(walk('stopped').state, 'stopped'));

  it('is unready only while going away', () => {
    assert.equal(walk('serving').stopping, false);
    assert.equal(walk('serving', 'reloading').stopping, false);
    assert.equal(walk('serving', 'lameduck').stopping, true);
  });

  for (const [path, bad] of [[[], 'reloading'], [[], 'lameduck'], [['serving'], 'stopped'], [['serving', 'lameduck'], 'serving'], [['serving', 'lameduck', 'stopped'], 'serving']] as Array<[ServerState[], ServerState]>) {
    it(`refuses ${[...path, bad].join(' → ') || bad}`, () => assert.throws(() => walk(...path).to(bad), /no move from/));
  }
});
