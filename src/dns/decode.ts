// Query decoder for the serving path. It reads only what a query needs (header, the one question, the
// OPT record) and classifies everything else, so the transport can answer FORMERR/NOTIMP/BADVERS or drop.
import { CLASSIC_UDP_SIZE, Flag, HEADER_SIZE, OPCODE_QUERY, Rcode, RRType } from './constants.js';
import type { Edns, Query } from './message.js';

export type DecodeResult =
  | { kind: 'query'; query: Query }
  /** Not worth a reply: shorter than a header, or a response (QR=1) that could be reflected in a loop. */
  | { kind: 'drop'; reason: string }
  /** Worth an error reply: `query` holds what could be read (the question may be missing). */
  | { kind: 'error'; rcode: number; reason: string; query: Query };

const MAX_NAME_WIRE_LENGTH = 255;

/** Reads a name at `offset`; pointers are followed only backwards (RFC 1035 §4.1.4), so loops are impossible. */
export function readName(buf: Uint8Array, offset: number): { name: string; end: number; compressed: boolean } | undefined {
  let name = '';
  let pos = offset;
  let end = -1;
  let wireLength = 1;
  let lowestJump = offset;
  for (;;) {
    if (pos >= buf.length) return undefined;
    const len = buf[pos]!;
    if (len === 0) {
      const compressed = end >= 0;
      if (!compressed) end = pos + 1;
      return { name, end, compressed };
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) return undefined;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= lowestJump) return undefined;
      if (end < 0) end = pos + 2;
      lowestJump = target;
      pos = target;
      continue;
    }
    if (kind !== 0) return undefined; // 0x40/0x80 label types are obsolete (RFC 6891 §5)
    if (pos + 1 + len > buf.length) return undefined;
    wireLength += len + 1;
    if (wireLength > MAX_NAME_WIRE_LENGTH) return undefined;
    if (name.length > 0) name += '.';
    name += labelText(buf, pos + 1, len);
    pos += len + 1;
  }
}

/** Label bytes as presentation text: '.', '\\' escaped and non-printable bytes as \DDD, as dig and CoreDNS print them. */
function labelText(buf: Uint8Array, start: number, len: number): string {
  let plain = true;
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return String.fromCharCode(...buf.subarray(start, start + len));
  let out = '';
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c === 0x2e || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c <= 0x20 || c >= 0x7f) out += '\\' + String(c).padStart(3, '0');
    else out += String.fromCharCode(c);
  }
  return out;
}

/** DNS names compare case-insensitively in ASCII only (RFC 4343). */
export function lowerAscii(name: string): string {
  return /[A-Z]/.test(name) ? name.replace(/[A-Z]+/g, (s) => s.toLowerCase()) : name;
}

/** Skips one resource record; returns the offset after it, or undefined when it runs off the end. */
function skipRecord(buf: Uint8Array, offset: number): { type: number; end: number; classField: number; ttl: number; rdata: number; rdlen: number } | undefined {
  const owner = readName(buf, offset);
  if (!owner || owner.end + 10 > buf.length) return undefined;
  const p = owner.end;
  const type = (buf[p]! << 8) | buf[p + 1]!;
  const classField = (buf[p + 2]! << 8) | buf[p + 3]!;
  const ttl = ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
  const rdlen = (buf[p + 8]! << 8) | buf[p + 9]!;
  const rdata = p + 10;
  if (rdata + rdlen > buf.length) return undefined;
  if (type === RRType.OPT && owner.name !== '') return undefined;
  return { type, end: rdata + rdlen, classField, ttl, rdata, rdlen };
}

export function decodeQuery(buf: Uint8Array): DecodeResult {
  if (buf.length < HEADER_SIZE) return { kind: 'drop', reason: 'shorter than a DNS header' };
  const id = (buf[0]! << 8) | buf[1]!;
  const flags = (buf[2]! << 8) | buf[3]!;
  if (flags & Flag.QR) return { kind: 'drop', reason: 'a response (QR=1)' };
  const qdcount = (buf[4]! << 8) | buf[5]!;
  const ancount = (buf[6]! << 8) | buf[7]!;
  const nscount = (buf[8]! << 8) | buf[9]!;
  const arcount = (buf[10]! << 8) | buf[11]!;

  const query: Query = {
    id,
    flags,
    name: '',
    lowerName: '',
    type: 0,
    qclass: 0,
    edns: undefined,
    raw: buf.subarray(0, HEADER_SIZE),
    questionEnd: HEADER_SIZE,
  };
  const fail = (rcode: number, reason: string): DecodeResult => ({ kind: 'error', rcode, reason, query });

  const opcode = (flags >> 11) & 0xf;
  if (qdcount !== 1) {
    // RFC 9619: exactly one question; with none there is nothing to answer.
    return fail(opcode === OPCODE_QUERY ? Rcode.FORMERR : Rcode.NOTIMP, `QDCOUNT is ${qdcount}, not 1`);
  }
  const question = readName(buf, HEADER_SIZE);
  // A pointer in the question could only point into the header, which holds no name; and the question is copied
  // verbatim into the reply, whose header differs, so the echoed name would decode as garbage there.
  if (!question || question.compressed || question.end + 4 > buf.length) return fail(Rcode.FORMERR, 'undecodable question');
  query.name = question.name;
  query.lowerName = lowerAscii(question.name);
  query.type = (buf[question.end]! << 8) | buf[question.end + 1]!;
  query.qclass = (buf[question.end + 2]! << 8) | buf[question.end + 3]!;
  query.questionEnd = question.end + 4;
  query.raw = buf.subarray(0, query.questionEnd);
  if (opcode !== OPCODE_QUERY) return fail(Rcode.NOTIMP, `opcode ${opcode} is not QUERY`);

  let pos = query.questionEnd;
  for (let i = 0; i < ancount + nscount; i++) {
    const rr = skipRecord(buf, pos);
    if (!rr) return fail(Rcode.FORMERR, 'undecodable record in answer/authority');
    pos = rr.end;
  }
  let edns: Edns | undefined;
  for (let i = 0; i < arcount; i++) {
    const rr = skipRecord(buf, pos);
    if (!rr) return fail(Rcode.FORMERR, 'undecodable additional record');
    pos = rr.end;
    if (rr.type !== RRType.OPT) continue;
    if (edns) return fail(Rcode.FORMERR, 'more than one OPT record'); // RFC 6891 §6.1.1
    edns = {
      udpSize: Math.max(rr.classField, CLASSIC_UDP_SIZE),
      version: (rr.ttl >>> 16) & 0xff,
      dnssecOk: (rr.ttl & 0x8000) !== 0,
    };
  }
  query.edns = edns;
  if (edns && edns.version !== 0) return fail(Rcode.BADVERS, `EDNS version ${edns.version}`);
  return { kind: 'query', query };
}
