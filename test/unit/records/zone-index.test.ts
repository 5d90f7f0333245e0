// The index over the fixed cluster: lookups, reverse entries (first Service wins for a cluster IP), existence
// checks, and a serial and generation that move only when something DNS can see changes.
import assert from 'node:assert/strict';
import { answersOf } from '../../../src/records/build.js';
import { applyObject, deleteObject } from '../../../src/sources/apply.js';
import { keyOfTarget } from '../../../src/records/zone-index.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { ZoneIndex } from '../../../src/records/zone-index.js';
import { fixedCluster } from '../../helpers/fake-cluster.js';

describe('records/zone-index', () => {
  it('answers lookups, port names with a bare _ label, reverse names and existence', () => {
    const { index } = fixedCluster();
    assert.deepEqual(answersOf(index.lookup('web.demo.svc')!).a, ['10.96.100.10']);
    assert.equal(index.lookup('nope.demo.svc'), undefined);
    assert.ok(index.lookupWildcardPort('web', 'demo', { port: '', protocol: 'tcp' }));
    assert.deepEqual(index.reverse('10.96.100.10'), ['web.demo.svc']);
    assert.deepEqual(index.reverse('192.0.2.1'), []);
    assert.equal(index.namespaceExists('quiet'), true);
    assert.equal(index.namespaceExists('nope'), false);
  });

  it('the serial is the time of the last change; the generation counts changes', () => {
    const { state, index } = fixedCluster();
    assert.equal(index.serial, 1_700_000_000);
    const g = index.generation;
    applyObject(state, 'Service', { metadata: { name: 'new', namespace: 'demo' }, spec: { clusterIP: '10.96.100.200', ports: [{ port: 80 }] } });
    assert.ok(index.generation > g);
    assert.deepEqual(answersOf(index.lookup('new.demo.svc')!).a, ['10.96.100.200']);
    deleteObject(state, 'Service', 'demo/new');
    assert.equal(index.lookup('new.demo.svc'), undefined);
    assert.deepEqual(index.reverse('10.96.100.200'), []);
  });

  it('reads the owning Service back from a PTR target, and keeps shared addresses per owner', () => {
    assert.equal(keyOfTarget('web.demo.svc'), 'demo/web');
    assert.equal(keyOfTarget('10-1-2-3.web.demo.svc'), 'demo/web');
    const { state, index } = fixedCluster();
    const svc = (name: string): void => applyObject(state, 'Service', { metadata: { name, namespace: 'demo' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } });
    const slice = (name: string, ip: string): void =>
      applyObject(state, 'EndpointSlice', { metadata: { name: `${name}-1`, namespace: 'demo', labels: { 'kubernetes.io/service-name': name } }, addressType: 'IPv4', endpoints: [{ addresses: [ip] }], ports: [{ port: 80 }] });
    for (const name of ['one', 'two', 'three']) {
      svc(name);
      slice(name, '10.9.9.9');
    }
    assert.deepEqual(index.reverse('10.9.9.9'), ['10-9-9-9.one.demo.svc', '10-9-9-9.two.demo.svc', '10-9-9-9.three.demo.svc']);
    deleteObject(state, 'Service', 'demo/two');
    deleteObject(state, 'EndpointSlice', 'demo/two-1');
    assert.deepEqual(index.reverse('10.9.9.9'), ['10-9-9-9.one.demo.svc', '10-9-9-9.three.demo.svc']);
    assert.deepEqual(index.explainAddress('10.9.9.9').endpointOf, { 'demo/one': ['10-9-9-9.one.demo.svc'], 'demo/three': ['10-9-9-9.three.demo.svc'] });
    deleteObject(state, 'EndpointSlice', 'demo/one-1');
    deleteObject(state, 'EndpointSlice', 'demo/three-1');
    assert.deepEqual(index.reverse('10.9.9.9'), []);
  });

  /** An index deferred until `release()`, whose background turns run only when the test says so. */
  function deferredIndex() {
    const state = new ClusterState();
    const turns: Array<() => void> = [];
    let now = 0;
    // Every clock read is a millisecond: with a 2 ms budget a turn builds two keys.
    const index = new ZoneIndex(state, { endpointPodNames: false, ignoreEmptyService: false }, () => 1_700_000_000_000, { schedule: (run) => turns.push(run), now: () => now++, budgetMs: 2 });
    let release!: () => void;
    index.deferUntil(new Promise<void>((resolve) => (release = resolve)));
    const service = (name: string, ip: string): void => applyObject(state, 'Service', { metadata: { name, namespace: 'demo' }, spec: { clusterIP: ip, ports: [{ port: 80 }] } });
    const built = { count: 0 };
    index.whenBuilt(() => built.count++);
    return { state, index, turns, service, built, release: async () => { release(); await Promise.resolve(); await Promise.resolve(); } };
  }

  it('while deferred, a lookup builds only its own Service, and every change moves the generation', () => {
    const { index, service, turns, built } = deferredIndex();
    service('web', '10.96.0.10');
    service('api', '10.96.0.11');
    const g = index.generation;
    assert.deepEqual(answersOf(index.lookup('web.demo.svc')!).a, ['10.96.0.10'], 'a lookup builds its own Service');
    assert.equal(index.lookup('_http._tcp.nope.demo.svc'), undefined);
    service('web', '10.96.0.12');
    assert.ok(index.generation > g, 'a change while deferred still invalidates cached answers');
    assert.deepEqual(answersOf(index.lookup('web.demo.svc')!).a, ['10.96.0.12'], 'and is built again at the next lookup');
    assert.equal(turns.length, 0, 'nothing is built in the background before the listing is complete');
    assert.equal(built.count, 0);
  });

  it('once released, builds the rest in turns within the budget; a lookup or a change meanwhile builds its key at once', async () => {
    const { index, service, turns, built, release } = deferredIndex();
    for (let i = 0; i < 7; i++) service(`s${i}`, `10.96.1.${i}`);
    await release();
    assert.equal(turns.length, 1, 'one background turn scheduled');
    assert.equal(index.lookup('s6.demo.svc') !== undefined, true, 'a lookup does not wait for its turn');
    service('s5', '10.96.2.5'); // after the listing: built at once, like any change
    turns.shift()!();
    assert.equal(built.count, 0, 'two keys per turn: not done after the first');
    while (turns.length > 0) turns.shift()!();
    assert.equal(built.count, 1, 'whenBuilt called once, when the last key is built');
    assert.equal(index.recordCount(), 7);
    assert.deepEqual(index.reverse('10.96.2.5'), ['s5.demo.svc']);
    assert.deepEqual(index.reverse('10.96.1.0'), ['s0.demo.svc']);
    let late = 0;
    index.whenBuilt(() => late++);
    assert.equal(late, 1, 'a listener added after the build runs at once');
  });

  it('a read that needs every Service (PTR, the name count) builds what is still pending at once', async () => {
    const { index, service, turns, built, release } = deferredIndex();
    for (let i = 0; i < 5; i++) service(`s${i}`, `10.96.1.${i}`);
    assert.deepEqual(index.reverse('10.96.1.4'), ['s4.demo.svc'], 'even before the listing is complete');
    assert.equal(built.count, 1);
    await release();
    assert.equal(turns.length, 0, 'nothing left for the background');
    service('late', '10.96.3.1');
    assert.deepEqual(index.reverse('10.96.3.1'), ['late.demo.svc']);
  });
});
