// The small wire helpers on their own: upstream queries (escapes, flags, the OPT we always send), where the TTLs
// sit in a message, and the zone's SOA.
import assert from 'node:assert/strict';
import dns2 from 'dns2';
import { decodeMessage, isResponse, messageId } from '../../../src/dns/decode-message.js';
import { encodeQuery, nameToWire } from '../../../src/dns/encode-query.js';
import { encodeReply } from '../../../src/dns/encode.js';
import { decodeQuery } from '../../../src/dns/decode.js';
import type { Query } from '../../../src/dns/message.js';
import { ttlOffsets } from '../../../src/dns/ttl-offsets.js';
import { zoneSoa } from '../../../src/records/rr.js';
import { buildQuery } from '../../helpers/dns-client.js';

describe('dns wire helpers', () => {
  it('names to wire: labels, the root, \\. and \\DDD escapes, and no label over 63 octets', () => {
    assert.deepEqual([...nameToWire('a.bc')], [1, 97, 2, 98, 99, 0]);
    assert.deepEqual([...nameToWire('')], [0]);
    assert.deepEqual([...nameToWire('a\\.b.c')], [3, 97, 46, 98, 1, 99, 0]);
    assert.deepEqual([...nameToWire('\\065')], [1, 65, 0]);
    assert.throws(() => nameToWire(`${'x'.repeat(64)}.example`), /longer than 63/);
  });

  it('upstream queries: the ID, RD and CD as asked, one question, an OPT with 1232 and DO (read back by dns2)', () => {
    const buf = encodeQuery({ id: 4242, name: 'www.example', type: 28, qclass: 1, recursionDesired: true, checkingDisabled: true, dnssecOk: true });
    assert.equal(messageId(buf), 4242);
    const p = dns2.Packet.parse(buf);
    assert.equal(p.questions[0]!.name, 'www.example');
    assert.equal(p.header.rd, 1);
    const m = decodeMessage(buf);
    assert.equal(isResponse(m), false);
    assert.deepEqual(m.opt, { udpSize: 1232, dnssecOk: true, options: Buffer.alloc(0) });
    assert.equal(messageId(Buffer.alloc(5)), undefined);
  });

  it('finds every TTL of a reply (compressed owners included), skipping the OPT', () => {
    const packet = buildQuery('web.example', 1, { edns: 1232 });
    const query = (decodeQuery(packet) as { query: Query }).query;
    const reply = encodeReply(query, { rcode: 0, authoritative: true, answer: [1, 2].map((i) => ({ name: 'web.example', type: 1 as const, ttl: 100 + i, address: `10.0.0.${i}`, bytes: Uint8Array.from([10, 0, 0, i]) })), authority: [], additional: [] }, { maxSize: 1232, advertisedPayload: 1232 });
    const records = reply.readUInt16BE(6) + reply.readUInt16BE(8) + reply.readUInt16BE(10);
    const offsets = ttlOffsets(reply, query.questionEnd, records)!;
    assert.deepEqual(offsets.map((o) => reply.readUInt32BE(o)), [101, 102]);
    assert.equal(ttlOffsets(reply.subarray(0, reply.length - 5), query.questionEnd, records), undefined, 'cut short');
  });

  it("the zone's SOA: TTL min(ttl, 300), minimum = ttl", () => {
    const soa = zoneSoa('cluster.local', 30, 7);
    assert.equal(soa.ttl, 30);
    assert.deepEqual('soa' in soa && soa.soa, { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 7, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 });
    assert.equal(zoneSoa('cluster.local', 3600, 7).ttl, 300);
  });
});
