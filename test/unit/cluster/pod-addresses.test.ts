// The client → pod projection behind --autopath: who holds an address, when it is ambiguous, what a node is,
// how long a departed pod is remembered, and the watch lag; plus the conversion that feeds it.
import assert from 'node:assert/strict';
import { PodAddresses } from '../../../src/cluster/pod-addresses.js';
import type { PodAddressInfo } from '../../../src/cluster/objects.js';
import { toPodAddress } from '../../../src/kube/convert.js';
import { ManualClock } from '../../helpers/clock.js';

const pod = (over: Partial<PodAddressInfo> = {}): PodAddressInfo => ({ uid: 'a', namespace: 'demo', ips: ['10.244.1.5'], hostNetwork: false, hostIPs: ['172.18.0.2'], clusterFirstSearch: true, createdAt: 0, writtenAt: NaN, ...over });

describe('cluster/pod-addresses', () => {
  it('one pod: its own; the node it runs on: a node; nobody: unknown', () => {
    const p = new PodAddresses(new ManualClock(), { reuseWindowMs: 300_000 });
    p.upsert('demo/a', pod());
    assert.deepEqual(p.attribute('10.244.1.5'), { kind: 'pod', pod: pod() });
    assert.deepEqual(p.attribute('172.18.0.2'), { kind: 'node' });
    assert.deepEqual(p.attribute('10.244.1.6'), { kind: 'unknown' });
    p.remove('demo/a');
    assert.deepEqual(p.attribute('172.18.0.2'), { kind: 'unknown' }, 'a node address is known only while a pod names it');
  });

  it('a hostNetwork pod shares its address: never attributed', () => {
    const p = new PodAddresses(new ManualClock(), { reuseWindowMs: 300_000 });
    p.upsert('kube-system/proxy', pod({ uid: 'h', ips: ['10.0.0.9'], hostIPs: ['10.0.0.8'], hostNetwork: true }));
    assert.deepEqual(p.attribute('10.0.0.9'), { kind: 'host_network' });
  });

  it('an address reused by another pod is ambiguous for the window after the first one left, then the new one', () => {
    const clock = new ManualClock();
    const p = new PodAddresses(clock, { reuseWindowMs: 300_000 });
    p.upsert('demo/a', pod());
    p.remove('demo/a');
    assert.deepEqual(p.attribute('10.244.1.5'), { kind: 'unknown' }, 'left, and nobody came');
    clock.advance(10_000);
    p.upsert('other/b', pod({ uid: 'b', namespace: 'other' }));
    assert.deepEqual(p.attribute('10.244.1.5'), { kind: 'ambiguous' });
    clock.advance(290_000);
    assert.equal(p.attribute('10.244.1.5').kind, 'pod');
    assert.equal((p.attribute('10.244.1.5') as { pod: PodAddressInfo }).pod.uid, 'b');
  });

  it('two live pods claiming one address (a missed delete) are ambiguous; an update of one pod is not a reuse', () => {
    const p = new PodAddresses(new ManualClock(), { reuseWindowMs: 300_000 });
    p.upsert('demo/a', pod());
    p.upsert('demo/a', pod({ writtenAt: 5 }));
    assert.equal(p.attribute('10.244.1.5').kind, 'pod');
    p.upsert('other/b', pod({ uid: 'b', namespace: 'other' }));
    assert.deepEqual(p.attribute('10.244.1.5'), { kind: 'ambiguous' });
  });

  it('the watch lag: from watch events only (a listing may be old), the worst of this minute and the last', () => {
    const clock = new ManualClock();
    const p = new PodAddresses(clock, { reuseWindowMs: 300_000 });
    p.upsert('demo/old', pod({ writtenAt: clock.now() - 3_600_000 }));
    assert.equal(p.watchLagMs(), 0);
    p.upsert('demo/a', pod({ writtenAt: clock.now() - 2500 }), true);
    assert.equal(p.watchLagMs(), 2500);
    clock.advance(70_000);
    p.upsert('demo/a', pod({ writtenAt: clock.now() - 100 }), true);
    assert.equal(p.watchLagMs(), 2500, 'last minute still counts');
    clock.advance(130_000);
    assert.equal(p.watchLagMs(), 0);
  });
});

describe('kube/convert toPodAddress', () => {
  const base = {
    metadata: { name: 'p', namespace: 'Demo', uid: 'u1', creationTimestamp: '2026-01-01T00:00:00Z', managedFields: [{ time: '2026-01-01T00:00:01Z' }, { time: '2026-01-01T00:00:03Z' }] },
    spec: {},
    status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00::0:5' }], hostIP: '172.18.0.2' },
  };
  it('keeps only what autopath needs, canonical', () => {
    assert.deepEqual(toPodAddress(base), {
      uid: 'u1',
      namespace: 'demo',
      ips: ['10.244.1.5', 'fd00::5'],
      hostNetwork: false,
      hostIPs: ['172.18.0.2'],
      clusterFirstSearch: true,
      createdAt: Date.parse('2026-01-01T00:00:00Z'),
      writtenAt: Date.parse('2026-01-01T00:00:03Z'),
    });
  });
  it('another search path: dnsPolicy None or Default, or dnsConfig.searches', () => {
    assert.equal(toPodAddress({ ...base, spec: { dnsPolicy: 'None' } })!.clusterFirstSearch, false);
    assert.equal(toPodAddress({ ...base, spec: { dnsPolicy: 'Default' } })!.clusterFirstSearch, false);
    assert.equal(toPodAddress({ ...base, spec: { dnsConfig: { searches: ['corp.example'] } } })!.clusterFirstSearch, false);
    assert.equal(toPodAddress({ ...base, spec: { dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true } })!.hostNetwork, true);
  });
  it('no address any more: no IP, terminal, being deleted', () => {
    assert.equal(toPodAddress({ ...base, status: { phase: 'Pending' } }), undefined);
    assert.equal(toPodAddress({ ...base, status: { ...base.status, phase: 'Succeeded' } }), undefined);
    assert.equal(toPodAddress({ ...base, metadata: { ...base.metadata, deletionTimestamp: '2026-01-01T00:01:00Z' } }), undefined);
  });
});
