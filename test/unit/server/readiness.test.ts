// /ready's text from the server's state, and the /records view over a tiny index.
import assert from 'node:assert/strict';
import { readiness } from '../../../src/ops/readiness.js';

const source = (synced: boolean, watches: Array<{ kind: string; status: { synced: boolean; lastError?: string } }> = []) => ({
  synced: () => synced,
  watches: () => watches.map((w) => ({ kind: w.kind, status: { connected: true, restarts: 0, relists: 0, probes: 0, lastEventAt: undefined, lastError: undefined, encoding: undefined, initialList: undefined, ...w.status } })),
});

describe('ops/readiness', () => {
  it('shutting down wins over everything', () => {
    assert.deepEqual(readiness({ stopping: true, source: source(true), loops: [] }), { ready: false, detail: ['shutting down'] });
  });

  it('before the first sync: names the watches still waiting and their last error', () => {
    const r = readiness({ stopping: false, source: source(false, [{ kind: 'Service', status: { synced: true } }, { kind: 'EndpointSlice', status: { synced: false, lastError: 'HTTP 403' } }]), loops: [] });
    assert.deepEqual(r, { ready: false, detail: ['cluster state not synced yet: waiting for EndpointSlice (HTTP 403)'] });
    assert.deepEqual(readiness({ stopping: false, source: source(false), loops: [] }).detail, ['cluster state not synced yet']);
  });

  it('ready, with a warning per forwarding loop', () => {
    assert.deepEqual(readiness({ stopping: false, source: source(true), loops: ['127.0.0.53:53'] }), { ready: true, detail: ['warning: forwarding loop via upstream 127.0.0.53:53; it is not used'] });
  });

  it('ready, with a warning when autopath is off for everyone (its Pod watch down or lagging)', () => {
    const r = readiness({ stopping: false, source: source(true), loops: [], autopath: 'autopath off: the Pod watch is down (HTTP 403); answering without it' });
    assert.deepEqual(r, { ready: true, detail: ['warning: autopath off: the Pod watch is down (HTTP 403); answering without it'] });
  });
});
