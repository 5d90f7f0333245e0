// The index over the fixed cluster: lookups, reverse entries (first Service wins for a cluster IP), existence
// checks, and a serial and generation that move only when something DNS can see changes.
import assert from 'node:assert/strict';
import { answersOf } from '../../../src/records/build.js';
import { applyObject, deleteObject } from '../../../src/sources/apply.js';
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
});
