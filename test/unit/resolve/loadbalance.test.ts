// Load balancing (CoreDNS loadbalance): addresses move, CNAMEs keep their place, the original is never changed.
import assert from 'node:assert/strict';
import type { Reply, RR } from '../../../src/dns/message.js';
import { addressRotations, shuffleAddresses } from '../../../src/resolve/loadbalance.js';

const a = (ip: string): RR => ({ name: 'web', type: 1, ttl: 5, address: ip, bytes: Uint8Array.from(ip.split('.').map(Number)) });
const cname: RR = { name: 'www', type: 5, ttl: 5, target: 'web' };
const reply = (answer: RR[]): Reply => ({ rcode: 0, authoritative: true, answer, authority: [], additional: [] });
const ips = (r: Reply): string[] => r.answer.map((x) => ('address' in x ? x.address : `cname ${'target' in x ? x.target : ''}`));

describe('resolve/loadbalance', () => {
  it('rotations: each address comes first once, the CNAME stays in front, at most 8', () => {
    const r = reply([cname, a('10.0.0.1'), a('10.0.0.2'), a('10.0.0.3')]);
    assert.deepEqual(addressRotations(r).map(ips), [
      ['cname web', '10.0.0.1', '10.0.0.2', '10.0.0.3'],
      ['cname web', '10.0.0.2', '10.0.0.3', '10.0.0.1'],
      ['cname web', '10.0.0.3', '10.0.0.1', '10.0.0.2'],
    ]);
    assert.equal(addressRotations(reply(Array.from({ length: 20 }, (_, i) => a(`10.0.1.${i}`)))).length, 8);
    const one = reply([a('10.0.0.1')]);
    assert.deepEqual(addressRotations(one), [one]);
  });

  it('shuffle: the same records, the CNAME in place, the original untouched', () => {
    const r = reply([cname, ...Array.from({ length: 10 }, (_, i) => a(`10.0.0.${i}`))]);
    const before = ips(r);
    const s = shuffleAddresses(r);
    assert.deepEqual(ips(r), before);
    assert.equal(ips(s)[0], 'cname web');
    assert.deepEqual([...ips(s)].sort(), [...before].sort());
  });
});
