// The wire codec on its own: decodeQuery against hand-built query bytes, encodeReply against hand-written
// golden replies, and every encoded reply cross-checked with dns2's independent decoder.
import assert from 'node:assert/strict';
import dns2 from 'dns2';
import { CLASSIC_UDP_SIZE, Flag, MAX_UDP_PAYLOAD, Rcode, RRType } from '../../src/dns/constants.js';
import { type DecodeResult, decodeQuery } from '../../src/dns/decode.js';
import { encodeReply } from '../../src/dns/encode.js';
import type { Query, Reply, RR } from '../../src/dns/message.js';

const { Packet } = dns2;
type Parsed = InstanceType<typeof Packet>;

/** Bytes from a hex string; spaces and newlines are ignored so goldens can be laid out by field. */
function hex(text: string): Buffer {
  const clean = text.replace(/\s+/g, '');
  assert.match(clean, /^([0-9a-fA-F]{2})*$/, `bad hex in test: ${text}`);
  return Buffer.from(clean, 'hex');
}

/** An uncompressed wire name, written out label by label. */
function wireName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name === '' ? [] : name.split('.')) {
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

interface QueryParts {
  id?: number;
  flags?: number;
  qdcount?: number;
  ancount?: number;
  nscount?: number;
  arcount?: number;
  /** Everything after the header, already encoded. */
  body: Buffer[];
}

function header(p: Omit<QueryParts, 'body'>): Buffer {
  return Buffer.concat([u16(p.id ?? 0x1234), u16(p.flags ?? Flag.RD), u16(p.qdcount ?? 1), u16(p.ancount ?? 0), u16(p.nscount ?? 0), u16(p.arcount ?? 0)]);
}

function message(p: QueryParts): Buffer {
  return Buffer.concat([header(p), ...p.body]);
}

const question = (name: string, type: number = RRType.A, qclass = 1): Buffer => Buffer.concat([wireName(name), u16(type), u16(qclass)]);

/** An OPT pseudo-record: root owner, payload size in CLASS, ext-rcode/version/DO in TTL. */
function opt(udpSize: number, opts: { version?: number; dnssecOk?: boolean; extRcode?: number; rdata?: Buffer } = {}): Buffer {
  const ttl = ((opts.extRcode ?? 0) << 24) | ((opts.version ?? 0) << 16) | (opts.dnssecOk ? 0x8000 : 0);
  const rdata = opts.rdata ?? Buffer.alloc(0);
  return Buffer.concat([Buffer.from([0]), u16(RRType.OPT), u16(udpSize), u32(ttl), u16(rdata.length), rdata]);
}

function expectQuery(result: DecodeResult): Query {
  assert.equal(result.kind, 'query', `expected a query, got ${JSON.stringify(result.kind === 'query' ? '' : result)}`);
  return (result as Extract<DecodeResult, { kind: 'query' }>).query;
}

function expectError(result: DecodeResult, rcode: number): Extract<DecodeResult, { kind: 'error' }> {
  assert.equal(result.kind, 'error', `expected an error reply, got ${result.kind}`);
  const r = result as Extract<DecodeResult, { kind: 'error' }>;
  assert.equal(r.rcode, rcode, `rcode (reason: ${r.reason})`);
  return r;
}

function queryFor(name: string, type: number, opts: { id?: number; flags?: number; edns?: number; dnssecOk?: boolean } = {}): Query {
  const body = [question(name, type)];
  if (opts.edns !== undefined) body.push(opt(opts.edns, { dnssecOk: opts.dnssecOk }));
  return expectQuery(decodeQuery(message({ id: opts.id, flags: opts.flags, arcount: opts.edns !== undefined ? 1 : 0, body })));
}

function parse(buf: Buffer): Parsed {
  const p = Packet.parse(buf);
  assert.deepEqual(
    p.errors.map((e) => e.message),
    [],
    'dns2 decodes the reply without errors',
  );
  return p;
}

const aRR = (name: string, ip: string, ttl = 5): RR => ({ name, type: RRType.A, ttl, address: ip, bytes: Uint8Array.from(ip.split('.').map(Number)) });

function aaaaBytes(groups: number[]): Uint8Array {
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

const reply = (r: Partial<Reply>): Reply => ({ rcode: Rcode.NOERROR, authoritative: true, answer: [], authority: [], additional: [], ...r });

const UDP = { maxSize: CLASSIC_UDP_SIZE, advertisedPayload: MAX_UDP_PAYLOAD };
const TCP = { maxSize: 65535, advertisedPayload: MAX_UDP_PAYLOAD };

describe('dns codec', () => {
  describe('decodeQuery', () => {
    it('decodes a hand-built query with EDNS: id, flags, case-preserving name, lower-cased key, type, class, OPT', () => {
      const name = 'Web.DEMO.svc.Cluster.local';
      const bytes = hex(`
        beef 0110 0001 0000 0000 0001
        03 576562 04 44454d4f 03 737663 07 436c7573746572 05 6c6f63616c 00
        0001 0001
        00 0029 1000 00008000 0000`);
      assert.deepEqual(bytes.subarray(12, 40), wireName(name), 'the golden bytes spell the name');
      const q = expectQuery(decodeQuery(bytes));
      assert.equal(q.id, 0xbeef);
      assert.equal(q.flags, 0x0110);
      assert.equal(q.name, name);
      assert.equal(q.lowerName, 'web.demo.svc.cluster.local');
      assert.equal(q.type, RRType.A);
      assert.equal(q.qclass, 1);
      assert.deepEqual(q.edns, { udpSize: 4096, version: 0, dnssecOk: true });
      assert.equal(q.questionEnd, 44);
      assert.deepEqual(Buffer.from(q.raw.subarray(0, q.questionEnd)), bytes.subarray(0, 44), 'raw holds header + question, verbatim');
    });

    it('has no EDNS without an OPT record, and raises a tiny advertised payload to 512', () => {
      const plain = expectQuery(decodeQuery(message({ body: [question('a.b', RRType.TXT, 3)] })));
      assert.equal(plain.edns, undefined);
      assert.equal(plain.type, RRType.TXT);
      assert.equal(plain.qclass, 3);
      const tiny = expectQuery(decodeQuery(message({ arcount: 1, body: [question('a.b'), opt(100)] })));
      assert.deepEqual(tiny.edns, { udpSize: 512, version: 0, dnssecOk: false });
    });

    it('decodes the root name and names with unusual bytes in presentation form', () => {
      const root = expectQuery(decodeQuery(message({ body: [question('', RRType.NS)] })));
      assert.equal(root.name, '');
      assert.equal(root.questionEnd, 12 + 1 + 4);
      const odd = Buffer.concat([Buffer.from([3, 0x61, 0x2e, 0x00, 2, 0x5c, 0x20, 0]), u16(1), u16(1)]);
      const q = expectQuery(decodeQuery(message({ body: [odd] })));
      assert.equal(q.name, 'a\\.\\000.\\\\\\032');
    });

    it('accepts a 63-octet label and a 255-octet name (the limits themselves)', () => {
      const l63 = 'x'.repeat(63);
      assert.equal(expectQuery(decodeQuery(message({ body: [question(`${l63}.com`)] }))).name, `${l63}.com`);
      const n255 = [l63, l63, l63, 'y'.repeat(61)].join('.');
      assert.equal(wireName(n255).length, 255);
      assert.equal(expectQuery(decodeQuery(message({ body: [question(n255)] }))).lowerName, n255);
    });

    it('skips answer/authority records, following their compression pointers back into the question', () => {
      const q = question('web.demo.svc.cluster.local');
      const rr = hex('c00c 0001 0001 0000003c 0004 0a000001');
      const ns = hex('c010 0002 0001 0000003c 0002 c00c'); // owner: "demo..." inside the question
      const decoded = expectQuery(decodeQuery(message({ ancount: 1, nscount: 1, arcount: 1, body: [q, rr, ns, opt(1232)] })));
      assert.equal(decoded.lowerName, 'web.demo.svc.cluster.local');
      assert.equal(decoded.edns?.udpSize, 1232, 'the OPT after them is still found');
    });

    it('drops messages shorter than a header and responses (QR=1)', () => {
      for (const len of [0, 1, 11]) {
        assert.equal(decodeQuery(Buffer.alloc(len)).kind, 'drop', `${len} bytes`);
      }
      const response = message({ flags: Flag.QR | Flag.RD, body: [question('web.demo.svc.cluster.local')] });
      assert.equal(decodeQuery(response).kind, 'drop');
      // The same bytes with QR clear are a query: the drop is about QR, not the content.
      assert.equal(decodeQuery(message({ flags: Flag.RD, body: [question('web.demo.svc.cluster.local')] })).kind, 'query');
      // A bare 12-byte header is not dropped (it is answered, as FORMERR: no question).
      assert.equal(decodeQuery(header({ qdcount: 0 })).kind, 'error');
    });

    it('answers FORMERR for QDCOUNT 0 and 2', () => {
      const zero = expectError(decodeQuery(header({ id: 7, qdcount: 0 })), Rcode.FORMERR);
      assert.equal(zero.query.id, 7);
      assert.equal(zero.query.questionEnd, 12);
      const two = message({ qdcount: 2, body: [question('a.example'), question('b.example')] });
      expectError(decodeQuery(two), Rcode.FORMERR);
    });

    it('answers FORMERR for a truncated name or a question without type and class', () => {
      const full = message({ body: [question('web.demo.svc.cluster.local')] });
      // Cut inside a label, where a length byte should be, before the terminating zero, and inside QTYPE/QCLASS.
      for (const cut of [14, 16, 39, 41, 43]) {
        const r = expectError(decodeQuery(full.subarray(0, cut)), Rcode.FORMERR);
        assert.equal(r.query.questionEnd, 12, `cut at ${cut}: no question is echoed`);
      }
      assert.equal(decodeQuery(full).kind, 'query', 'the uncut message is fine');
      // A label length that promises more bytes than the message has.
      expectError(decodeQuery(message({ body: [Buffer.from([10, 0x61, 0x62, 0x63])] })), Rcode.FORMERR);
    });

    it('answers FORMERR for pointer loops and forward pointers in the question', () => {
      const tail = Buffer.concat([u16(1), u16(1)]);
      // Points at itself.
      expectError(decodeQuery(message({ body: [hex('c00c'), tail] })), Rcode.FORMERR);
      // A label, then a pointer back to the start of the same name: a loop.
      expectError(decodeQuery(message({ body: [hex('0161 c00c'), tail] })), Rcode.FORMERR);
      // Points forward, at a well-formed name that follows.
      expectError(decodeQuery(message({ body: [hex('c00e'), wireName('a.b'), tail] })), Rcode.FORMERR);
      // A pointer cut in half.
      expectError(decodeQuery(message({ body: [hex('0161 c0')] })), Rcode.FORMERR);
    });

    it('answers FORMERR for a question name that points into the header (the question is echoed verbatim)', () => {
      // ID 0x0178 spells the label "x" and the flags' zero byte ends it: the pointer would decode as "cluster.x",
      // but in the reply the header is different, so a verbatim copy of this question would not decode.
      const bytes = Buffer.concat([hex('0178 0000 0001 0000 0000 0000'), wireName('cluster').subarray(0, 8), hex('c000'), u16(RRType.SOA), u16(1)]);
      const r = expectError(decodeQuery(bytes), Rcode.FORMERR);
      const encoded = encodeReply(r.query, reply({ rcode: r.rcode, authoritative: false }), UDP);
      const parsed = parse(encoded);
      assert.equal(parsed.header.rcode, Rcode.FORMERR);
    });

    it('answers FORMERR for a label longer than 63 octets and a name longer than 255 octets', () => {
      const tail = Buffer.concat([u16(1), u16(1)]);
      const label64 = Buffer.concat([Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0])]);
      expectError(decodeQuery(message({ body: [label64, tail] })), Rcode.FORMERR);
      // 0x80 (the obsolete extended label type) is no length either.
      expectError(decodeQuery(message({ body: [Buffer.concat([Buffer.from([0x81]), Buffer.alloc(1, 0x61), Buffer.from([0])]), tail] })), Rcode.FORMERR);
      const l63 = 'x'.repeat(63);
      const n256 = [l63, l63, l63, 'y'.repeat(62)].join('.');
      assert.equal(wireName(n256).length, 256);
      expectError(decodeQuery(message({ body: [question(n256)] })), Rcode.FORMERR);
    });

    it('answers FORMERR for two OPT records, an OPT with a non-root owner, or a record running off the end', () => {
      expectError(decodeQuery(message({ arcount: 2, body: [question('a.b'), opt(1232), opt(1232)] })), Rcode.FORMERR);
      const namedOpt = Buffer.concat([hex('c00c'), opt(1232).subarray(1)]);
      expectError(decodeQuery(message({ arcount: 1, body: [question('a.b'), namedOpt] })), Rcode.FORMERR);
      expectError(decodeQuery(message({ arcount: 1, body: [question('a.b'), opt(1232).subarray(0, 9)] })), Rcode.FORMERR);
      expectError(decodeQuery(message({ ancount: 1, body: [question('a.b')] })), Rcode.FORMERR);
      // One OPT among other additional records is fine.
      const other = hex('c00c 0001 0001 00000000 0004 01020304');
      assert.equal(expectQuery(decodeQuery(message({ arcount: 2, body: [question('a.b'), other, opt(2048)] }))).edns?.udpSize, 2048);
    });

    it('answers NOTIMP for opcodes other than QUERY, with the question decoded', () => {
      for (const opcode of [1, 2, 4, 5, 15]) {
        const bytes = message({ flags: (opcode << 11) | Flag.RD, body: [question('Web.demo.svc.cluster.local', RRType.SOA)] });
        const r = expectError(decodeQuery(bytes), Rcode.NOTIMP);
        assert.equal(r.query.name, 'Web.demo.svc.cluster.local', `opcode ${opcode}`);
        assert.equal(r.query.type, RRType.SOA);
        const parsed = parse(encodeReply(r.query, reply({ rcode: r.rcode, authoritative: false }), UDP));
        assert.equal(parsed.header.opcode, opcode, 'the reply keeps the opcode');
        assert.equal(parsed.header.rcode, Rcode.NOTIMP);
        assert.equal(parsed.questions[0]?.name, 'Web.demo.svc.cluster.local');
      }
    });

    it('answers BADVERS for EDNS version 1, with the extended rcode in the reply OPT', () => {
      const bytes = message({ id: 0x4242, arcount: 1, body: [question('web.demo.svc.cluster.local'), opt(4096, { version: 1, dnssecOk: true })] });
      const r = expectError(decodeQuery(bytes), Rcode.BADVERS);
      assert.equal(r.query.edns?.version, 1);
      const out = encodeReply(r.query, reply({ rcode: r.rcode, authoritative: false }), UDP);
      assert.equal(out.readUInt16BE(2) & 0xf, 0, 'the header holds the low 4 bits of 16: zero');
      assert.equal(out.readUInt16BE(10), 1, 'ARCOUNT: the OPT record');
      const optAt = out.length - 11;
      assert.deepEqual(out.subarray(optAt, optAt + 5), hex('00 0029 04d0'), 'root owner, OPT, advertising 1232');
      assert.deepEqual(out.subarray(optAt + 5, optAt + 9), hex('01 00 8000'), 'extended rcode 1 (16 >> 4), version 0, DO echoed');
      const parsed = parse(out);
      assert.equal(parsed.header.rcode, Rcode.BADVERS, 'dns2 merges the 12-bit rcode');
      assert.equal(parsed.header.id, 0x4242);
    });
  });

  describe('encodeReply', () => {
    it('writes a golden reply with one A record owned by the question name (pointer C0 0C)', () => {
      const q = queryFor('web.demo.svc.cluster.local', RRType.A, { id: 0x1234, flags: Flag.RD });
      const out = encodeReply(q, reply({ answer: [aRR('web.demo.svc.cluster.local', '10.96.100.10')] }), UDP);
      const golden = hex(`
        1234 8500 0001 0001 0000 0000
        03 776562 04 64656d6f 03 737663 07 636c7573746572 05 6c6f63616c 00 0001 0001
        c00c 0001 0001 00000005 0004 0a60640a`);
      assert.deepEqual(out, golden);
      const p = parse(out);
      assert.equal(p.answers[0]?.name, 'web.demo.svc.cluster.local');
      assert.equal(p.answers[0]?.address, '10.96.100.10');
    });

    it('compresses a name that shares the zone suffix with the question', () => {
      const q = queryFor('www.demo.svc.cluster.local', RRType.A, { id: 1 });
      const cname: RR = { name: 'www.demo.svc.cluster.local', type: RRType.CNAME, ttl: 5, target: 'web.demo.svc.cluster.local' };
      const out = encodeReply(q, reply({ answer: [cname, aRR('web.demo.svc.cluster.local', '10.96.100.10')] }), UDP);
      // Question name at 12 (28 bytes), so "demo.svc.cluster.local" is at 16 = 0x10. The CNAME record starts at 44,
      // its RDATA at 56 = 0x38: "web" + pointer to 16. The A record's owner then points at that RDATA.
      const golden = hex(`
        0001 8500 0001 0002 0000 0000
        03 777777 04 64656d6f 03 737663 07 636c7573746572 05 6c6f63616c 00 0001 0001
        c00c 0005 0001 00000005 0006 03 776562 c010
        c038 0001 0001 00000005 0004 0a60640a`);
      assert.deepEqual(out, golden);
      const p = parse(out);
      assert.equal(p.answers[0]?.domain, 'web.demo.svc.cluster.local');
      assert.equal(p.answers[1]?.name, 'web.demo.svc.cluster.local');
    });

    it('compresses only suffixes spelled exactly alike, so every name reads back as it was built', () => {
      const q = queryFor('WWW.Demo.SVC.cluster.LOCAL', RRType.CNAME, { id: 2 });
      const cname: RR = { name: 'WWW.Demo.SVC.cluster.LOCAL', type: RRType.CNAME, ttl: 5, target: 'web.Demo.SVC.cluster.LOCAL' };
      const lower = aRR('web.demo.svc.cluster.local', '10.96.100.10');
      const out = encodeReply(q, reply({ answer: [cname, lower] }), UDP);
      const golden = Buffer.concat([
        hex('0002 8500 0001 0002 0000 0000'),
        question('WWW.Demo.SVC.cluster.LOCAL', RRType.CNAME),
        hex('c00c 0005 0001 00000005 0006 03 776562 c010'), // owner = the question; target: "web" + "Demo.SVC.cluster.LOCAL"
        wireName('web.demo.svc.cluster.local'), // no suffix of it was written in this spelling: in full
        hex('0001 0001 00000005 0004 0a60640a'),
      ]);
      assert.deepEqual(out, golden);
      const p = parse(out);
      assert.equal(p.questions[0]?.name, 'WWW.Demo.SVC.cluster.LOCAL');
      assert.equal(p.answers[0]?.name, 'WWW.Demo.SVC.cluster.LOCAL');
      assert.equal(p.answers[0]?.domain, 'web.Demo.SVC.cluster.LOCAL');
      assert.equal(p.answers[1]?.name, 'web.demo.svc.cluster.local');
    });

    it('writes SRV targets uncompressed (RFC 2782) and lets later names point into them', () => {
      // The question holds "db.demo.svc.cluster.local", a suffix of the target, yet the target is written in full.
      const qname = '_postgres._tcp.db.demo.svc.cluster.local';
      const q = queryFor(qname, RRType.SRV, { id: 3 });
      const target = 'db-0.db.demo.svc.cluster.local';
      const srv: RR = { name: qname, type: RRType.SRV, ttl: 5, srv: { priority: 0, weight: 100, port: 5432, target } };
      const out = encodeReply(q, reply({ answer: [srv], additional: [aRR(target, '10.244.1.20')] }), UDP);
      const answerAt = 12 + wireName(qname).length + 4;
      assert.deepEqual(out.subarray(answerAt, answerAt + 2), hex('c00c'));
      const rdlen = out.readUInt16BE(answerAt + 10);
      const rdata = out.subarray(answerAt + 12, answerAt + 12 + rdlen);
      assert.deepEqual(rdata, Buffer.concat([hex('0000 0064 1538'), wireName(target)]), 'priority, weight, port, full target');
      const additionalAt = answerAt + 12 + rdlen;
      assert.deepEqual(out.subarray(additionalAt, additionalAt + 2), u16(0xc000 | (answerAt + 12 + 6)), 'the A owner points at the target');
      const p = parse(out);
      assert.equal(p.answers[0]?.target, target);
      assert.equal(p.answers[0]?.port, 5432);
      assert.equal(p.answers[0]?.weight, 100);
      assert.equal(p.additionals[0]?.name, target);
      assert.equal(p.additionals[0]?.address, '10.244.1.20');
    });

    it('writes an NXDOMAIN with the SOA in the authority section, names compressed against the question', () => {
      const q = queryFor('nope.demo.svc.cluster.local', RRType.A, { id: 4, flags: 0 });
      const soa: RR = {
        name: 'cluster.local',
        type: RRType.SOA,
        ttl: 30,
        soa: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 1700000000, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 },
      };
      const out = encodeReply(q, reply({ rcode: Rcode.NXDOMAIN, authority: [soa] }), UDP);
      const clusterAt = 12 + 5 + 5 + 4; // "cluster.local" inside the question
      const golden = Buffer.concat([
        hex('0004 8403 0001 0000 0001 0000'),
        question('nope.demo.svc.cluster.local'),
        u16(0xc000 | clusterAt),
        hex('0006 0001 0000001e'),
        u16(9 + 13 + 20), // mname 02 ns 03 dns + pointer, rname 0a hostmaster + pointer, five numbers
        hex('02 6e73 03 646e73'),
        u16(0xc000 | clusterAt),
        hex('0a 686f73746d6173746572'),
        u16(0xc000 | clusterAt),
        u32(1700000000),
        u32(7200),
        u32(1800),
        u32(86400),
        u32(30),
      ]);
      assert.deepEqual(out, golden);
      const p = parse(out);
      assert.equal(p.header.rcode, Rcode.NXDOMAIN);
      assert.equal(p.header.aa, 1);
      assert.equal(p.header.rd, 0);
      assert.equal(p.authorities.length, 1);
      const a = p.authorities[0]!;
      assert.deepEqual([a.name, a.primary, a.admin, a.serial, a.refresh, a.retry, a.expiration, a.minimum], ['cluster.local', 'ns.dns.cluster.local', 'hostmaster.cluster.local', 1700000000, 7200, 1800, 86400, 30]);
    });

    it('writes TXT character-strings and AAAA addresses', () => {
      const q = queryFor('dns-version.cluster.local', RRType.TXT, { id: 5 });
      const txt: RR = { name: 'dns-version.cluster.local', type: RRType.TXT, ttl: 28800, texts: ['1.1.0', 'two words', ''] };
      const out = encodeReply(q, reply({ answer: [txt] }), UDP);
      const at = 12 + wireName('dns-version.cluster.local').length + 4;
      assert.deepEqual(out.subarray(at), Buffer.concat([hex('c00c 0010 0001 00007080'), u16(6 + 10 + 1), hex('05 312e312e30 09 74776f20776f726473 00')]));
      assert.deepEqual(parse(out).answers[0]?.data, ['1.1.0', 'two words', '']);

      const q6 = queryFor('dual.demo.svc.cluster.local', RRType.AAAA, { id: 6 });
      const bytes = aaaaBytes([0xfd00, 0x10, 0x96, 0, 0, 0, 0, 0x20]);
      const aaaa: RR = { name: 'dual.demo.svc.cluster.local', type: RRType.AAAA, ttl: 5, address: 'fd00:10:96::20', bytes };
      const out6 = encodeReply(q6, reply({ answer: [aaaa] }), UDP);
      const at6 = 12 + wireName('dual.demo.svc.cluster.local').length + 4;
      assert.deepEqual(out6.subarray(at6), Buffer.concat([hex('c00c 001c 0001 00000005 0010'), Buffer.from(bytes)]));
      const p6 = parse(out6);
      assert.equal(p6.answers[0]?.type, RRType.AAAA);
      assert.equal(p6.answers[0]?.address, 'fd00:10:96::20');
    });

    it('sets QR, sets AA only when authoritative, echoes id, RD and CD, and carries the rcode', () => {
      const cases = [
        { flags: Flag.RD | Flag.CD, authoritative: true, rcode: Rcode.NOERROR },
        { flags: 0, authoritative: false, rcode: Rcode.REFUSED },
        { flags: Flag.CD, authoritative: true, rcode: Rcode.NXDOMAIN },
        { flags: Flag.RD | Flag.AD | Flag.TC | Flag.AA | Flag.RA, authoritative: false, rcode: Rcode.SERVFAIL },
      ];
      for (const [i, c] of cases.entries()) {
        const id = 0xa000 + i;
        const q = queryFor('x.cluster.local', RRType.A, { id, flags: c.flags });
        const out = encodeReply(q, reply({ rcode: c.rcode, authoritative: c.authoritative }), UDP);
        const flags = out.readUInt16BE(2);
        const what = JSON.stringify(c);
        assert.equal(out.readUInt16BE(0), id, `id ${what}`);
        assert.equal(flags & Flag.QR, Flag.QR, `QR ${what}`);
        assert.equal(flags & Flag.AA, c.authoritative ? Flag.AA : 0, `AA ${what}`);
        assert.equal(flags & Flag.RD, c.flags & Flag.RD, `RD ${what}`);
        assert.equal(flags & Flag.CD, c.flags & Flag.CD, `CD ${what}`);
        assert.equal(flags & Flag.TC, 0, `TC is ours, not the client's ${what}`);
        assert.equal(flags & 0x7800, 0, `opcode ${what}`);
        assert.equal(flags & 0xf, c.rcode, `rcode ${what}`);
        const p = parse(out);
        assert.equal(p.header.rcode, c.rcode);
        assert.equal(p.header.qdcount, 1);
      }
    });

    it('copies the question verbatim, mixed case included', () => {
      const name = 'wEb.DeMo.SvC.cLuStEr.LoCaL';
      const bytes = message({ id: 9, body: [question(name)] });
      const q = expectQuery(decodeQuery(bytes));
      const out = encodeReply(q, reply({ answer: [aRR(q.name, '10.96.100.10')] }), UDP);
      assert.deepEqual(out.subarray(12, bytes.length), bytes.subarray(12));
      assert.deepEqual(out.subarray(bytes.length, bytes.length + 2), hex('c00c'), 'an owner spelled as the question is a pointer to it');
      const p = parse(out);
      assert.equal(p.questions[0]?.name, name);
      assert.equal(p.answers[0]?.name, name);
    });

    it('answers without a question section when none could be read', () => {
      const r = expectError(decodeQuery(header({ id: 77, qdcount: 0 })), Rcode.FORMERR);
      const out = encodeReply(r.query, reply({ rcode: r.rcode, authoritative: false }), UDP);
      assert.deepEqual(out, hex('004d 8101 0000 0000 0000 0000'));
    });

    it('truncates a 60-record reply to 512 bytes without EDNS: TC=1, whole records only, as many as fit', () => {
      const qname = 'big.demo.svc.cluster.local';
      const q = queryFor(qname, RRType.A, { id: 10 });
      const ips = Array.from({ length: 60 }, (_, i) => `10.244.${i >> 4}.${i + 1}`);
      const out = encodeReply(q, reply({ answer: ips.map((ip) => aRR(qname, ip)) }), UDP);
      assert.ok(out.length <= 512, `${out.length} bytes`);
      const ancount = out.readUInt16BE(6);
      assert.ok(ancount > 0 && ancount < 60, `ancount ${ancount}`);
      assert.equal(ancount, Math.floor((512 - q.questionEnd) / 16), 'every record is 16 bytes; the reply holds as many as fit');
      assert.equal(out.length, q.questionEnd + 16 * ancount, 'nothing after the last whole record');
      const p = parse(out);
      assert.equal(p.header.tc, 1);
      assert.equal(p.answers.length, ancount);
      assert.deepEqual(
        p.answers.map((a) => [a.name, a.address]),
        ips.slice(0, ancount).map((ip) => [qname, ip]),
        'the first records, in order, intact',
      );
      // Over TCP the same reply is whole.
      const whole = parse(encodeReply(q, reply({ answer: ips.map((ip) => aRR(qname, ip)) }), TCP));
      assert.equal(whole.header.tc, 0);
      assert.equal(whole.answers.length, 60);
    });

    it('drops later sections entirely once a record does not fit', () => {
      const qname = 'big.demo.svc.cluster.local';
      const q = queryFor(qname, RRType.A, { id: 11 });
      const answer = Array.from({ length: 20 }, (_, i) => aRR(qname, `10.0.0.${i + 1}`));
      const additional = Array.from({ length: 20 }, (_, i) => aRR(`host-${i}.${qname}`, `10.0.1.${i + 1}`));
      const out = encodeReply(q, reply({ answer, additional }), UDP);
      const p = parse(out);
      assert.equal(p.header.tc, 1);
      assert.equal(p.answers.length, 20);
      assert.ok(p.additionals.length < 20);
      assert.ok(out.length <= 512);
    });

    it('keeps the OPT record in a truncated EDNS reply and advertises 1232', () => {
      const qname = 'big.demo.svc.cluster.local';
      const q = queryFor(qname, RRType.A, { id: 12, edns: 4096, dnssecOk: true });
      const ips = Array.from({ length: 100 }, (_, i) => `10.244.${i >> 5}.${i + 1}`);
      const out = encodeReply(q, reply({ answer: ips.map((ip) => aRR(qname, ip)) }), { maxSize: Math.min(q.edns!.udpSize, MAX_UDP_PAYLOAD), advertisedPayload: MAX_UDP_PAYLOAD });
      assert.ok(out.length <= 1232, `${out.length} bytes`);
      const ancount = out.readUInt16BE(6);
      assert.equal(ancount, Math.floor((1232 - 11 - q.questionEnd) / 16), 'room is left for the OPT record');
      assert.equal(out.readUInt16BE(10), 1);
      assert.deepEqual(out.subarray(out.length - 11), hex('00 0029 04d0 00008000 0000'), 'OPT last: 1232, DO echoed, no options');
      const p = parse(out);
      assert.equal(p.header.tc, 1);
      assert.equal(p.answers.length, ancount);
      assert.deepEqual(
        p.answers.map((a) => a.address),
        ips.slice(0, ancount),
      );
      const o = p.additionals.find((r) => r.type === RRType.OPT);
      assert.ok(o, 'dns2 sees the OPT');
      assert.equal(o.class, 1232);
      assert.equal(o.doFlag, true);
    });

    it('echoes an OPT (without DO unless asked) when the query had one, and none when it had not', () => {
      const withEdns = encodeReply(queryFor('a.cluster.local', RRType.A, { edns: 1400 }), reply({}), UDP);
      assert.equal(withEdns.readUInt16BE(10), 1);
      assert.deepEqual(withEdns.subarray(withEdns.length - 11), hex('00 0029 04d0 00000000 0000'));
      const without = encodeReply(queryFor('a.cluster.local', RRType.A), reply({}), UDP);
      assert.equal(without.readUInt16BE(10), 0);
      assert.equal(without.length, 12 + wireName('a.cluster.local').length + 4);
    });

    it('encodes an Extended DNS Error option (RFC 8914): code 15, INFO-CODE, EXTRA-TEXT', () => {
      const text = 'cluster state not yet synced';
      const q = queryFor('nope.cluster.local', RRType.A, { id: 13, edns: 1232 });
      const out = encodeReply(q, reply({ rcode: Rcode.SERVFAIL, ede: { code: 14, text } }), UDP);
      const optLen = 11 + 4 + 2 + text.length;
      const o = out.subarray(out.length - optLen);
      assert.deepEqual(o, Buffer.concat([hex('00 0029 04d0 00000000'), u16(4 + 2 + text.length), hex('000f'), u16(2 + text.length), hex('000e'), Buffer.from(text)]));
      const p = parse(out);
      assert.equal(p.header.rcode, Rcode.SERVFAIL);
      const rdata = p.additionals.find((r) => r.type === RRType.OPT)?.rdata as Array<{ ednsCode: number; infoCode: number; extraText: string }>;
      assert.deepEqual(rdata, [{ ednsCode: 15, infoCode: 14, extraText: text }]);

      // Without EDNS in the query there is nowhere to put it.
      const plain = encodeReply(queryFor('nope.cluster.local', RRType.A), reply({ rcode: Rcode.SERVFAIL, ede: { code: 14, text } }), UDP);
      assert.equal(plain.readUInt16BE(10), 0);
      assert.equal(plain.includes(Buffer.from(text)), false);
    });

    it('leaves room for the EDE option when truncating', () => {
      const qname = 'big.demo.svc.cluster.local';
      const q = queryFor(qname, RRType.A, { edns: 512 });
      const text = 'x'.repeat(40);
      const out = encodeReply(q, reply({ answer: Array.from({ length: 40 }, (_, i) => aRR(qname, `10.1.0.${i}`)), ede: { code: 14, text } }), { maxSize: 512, advertisedPayload: 1232 });
      assert.ok(out.length <= 512, `${out.length} bytes`);
      const p = parse(out);
      assert.equal(p.header.tc, 1);
      assert.equal(p.answers.length, Math.floor((512 - 11 - 6 - text.length - q.questionEnd) / 16));
      const rdata = p.additionals.find((r) => r.type === RRType.OPT)?.rdata as Array<{ ednsCode: number; infoCode: number; extraText: string }>;
      assert.equal(rdata[0]?.extraText, text);
    });
  });
});
