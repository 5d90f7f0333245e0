// CoreDNS's cache TTL rules (dns/cache-ttl.ts), case by case against plugin/cache/cache.go and pkg/dnsutil/ttl.go.
import assert from 'node:assert/strict';
import { cacheClass, uniformTtl } from '../../../src/dns/cache-ttl.js';
import type { RR } from '../../../src/dns/message.js';

const caps = { success: 30, denial: 20, servfail: 5, min: 5 };
const a = (ttl: number, name = 'www.example.test'): RR => ({ name, type: 1, ttl, address: '192.0.2.1', bytes: Uint8Array.from([192, 0, 2, 1]) });
const cname = (ttl: number, name = 'alias.example.test', target = 'www.example.test'): RR => ({ name, type: 5, ttl, target });
const soa = (ttl: number): RR => ({ name: 'example.test', type: 6, ttl, soa: { mname: 'ns', rname: 'admin', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } });
const reply = (rcode: number, answer: RR[], authority: RR[] = [], additional: RR[] = []) => ({ rcode, answer, authority, additional });

describe('CoreDNS cache TTL rules', () => {
  it('an answer: its smallest TTL over every section, capped at the success TTL', () => {
    assert.equal(uniformTtl(reply(0, [a(300)]), caps), 30, 'dns-version TXT 28800 under cache 30 says 30');
    assert.equal(uniformTtl(reply(0, [a(300), a(12)]), caps), 12);
    assert.equal(uniformTtl(reply(0, [a(300)], [], [a(8, 'ns.example.test')]), caps), 8, 'the additional section counts too');
  });

  it('raised to the minimum (5 s by default): kubernetes ttl 0 comes back as 5', () => {
    assert.equal(uniformTtl(reply(0, [a(0)]), caps), 5);
    assert.equal(uniformTtl(reply(0, [a(0)]), { ...caps, min: 0 }), 0);
  });

  it('NXDOMAIN and NODATA take the denial cap; a CNAME chain not ending in the asked type with an SOA is NODATA', () => {
    assert.equal(uniformTtl(reply(3, [], [soa(300)]), caps), 20);
    assert.equal(uniformTtl(reply(0, [], [soa(10)]), caps), 10);
    const chain = reply(0, [cname(300)], [soa(300)]);
    assert.equal(cacheClass(chain, { name: 'alias.example.test', type: 16 }), 'denial');
    assert.equal(cacheClass(chain, { name: 'alias.example.test', type: 5 }), 'success', 'asked for the CNAME itself: an answer');
    assert.equal(uniformTtl(chain, caps, { name: 'alias.example.test', type: 16 }), 20);
  });

  it('SERVFAIL takes the servfail duration; REFUSED, empty replies and delegations the 5 s failsafe', () => {
    assert.equal(uniformTtl(reply(2, []), caps), 5);
    assert.equal(uniformTtl(reply(2, []), { ...caps, servfail: 2 }), 2);
    assert.equal(uniformTtl(reply(5, []), caps), 5);
    assert.equal(uniformTtl(reply(0, []), caps), 5);
    assert.equal(uniformTtl(reply(0, [], [{ name: 'example.test', type: 2, ttl: 300, target: 'ns.example.test' }]), caps), 5);
    assert.equal(uniformTtl(reply(0, []), { ...caps, success: 3 }), 3, 'never above the cap');
  });
});
