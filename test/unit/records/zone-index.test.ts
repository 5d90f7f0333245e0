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

  it('while deferred builds nothing until it settles, and any read settles it first', () => {
    const state = new ClusterState();
    const index = new ZoneIndex(state, { endpointPodNames: false, ignoreEmptyService: false });
    let release!: () => void;
    index.deferUntil(new Promise<void>((resolve) => (release = resolve)));
    applyObject(state, 'Service', { metadata: { name: 'web', namespace: 'demo' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] } });
    assert.deepEqual(answersOf(index.lookup('web.demo.svc')!).a, ['10.96.0.10'], 'a read builds what is pending');
    applyObject(state, 'Service', { metadata: { name: 'api', namespace: 'demo' }, spec: { clusterIP: '10.96.0.11', ports: [{ port: 80 }] } });
    release();
    assert.deepEqual(index.reverse('10.96.0.11'), ['api.demo.svc']);
  });
});
