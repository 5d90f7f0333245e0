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

/**
 * A name's presentation text is built here and turned into one string at the end. Building it label by label
 * (a subarray, a spread and a concatenation each) was the largest allocation of an uncached query: measured with
 * the hostile suite's mix, about 1.5 KB of garbage a query. 255 wire octets give at most 1,016 characters (every
 * label byte escaped as \DDD).
 */
const text = Buffer.allocUnsafeSlow(1024);

/** Reads a name at `offset`; pointers are followed only backwards (RFC 1035 §4.1.4), so loops are impossible. */
export function readName(buf: Uint8Array, offset: number): { name: string; end: number; compressed: boolean } | undefined {
  const walked = walkName(buf, offset, true);
  if (!walked) return undefined;
  return { name: walked.size === 0 ? '' : text.toString('latin1', 0, walked.size), end: walked.end, compressed: walked.compressed };
}

/**
 * Follows a name to its end. With `write`, its text goes into `text` and `size` is its length; without, `size`
 * counts its labels (0: the root), which is all a record being skipped needs.
 */
function walkName(buf: Uint8Array, offset: number, write: boolean): { size: number; end: number; compressed: boolean } | undefined {
  let size = 0;
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
      return { size, end, compressed };
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
    if (!write) size++;
    else {
      if (size > 0) text[size++] = 0x2e;
      size = labelText(buf, pos + 1, len, size);
    }
    pos += len + 1;
  }
}

/**
 * Writes label bytes into `text` at `at` as presentation text: '.' and '\\' escaped, non-printable bytes as
 * \DDD, as dig and CoreDNS print them. Returns the new end.
 */
function labelText(buf: Uint8Array, start: number, len: number, at: number): number {
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c === 0x2e || c === 0x5c) {
      text[at++] = 0x5c;
      text[at++] = c;
    } else if (c <= 0x20 || c >= 0x7f) {
      text[at++] = 0x5c;
      text[at++] = 0x30 + Math.floor(c / 100);
      text[at++] = 0x30 + (Math.floor(c / 10) % 10);
      text[at++] = 0x30 + (c % 10);
    } else text[at++] = c;
  }
  return at;
}

/** DNS names compare case-insensitively in ASCII only (RFC 4343). */
export function lowerAscii(name: string): string {
  return /[A-Z]/.test(name) ? name.replace(/[A-Z]+/g, (s) => s.toLowerCase()) : name;
}

/** Skips one resource record; returns the offset after it, or undefined when it runs off the end. */
function skipRecord(buf: Uint8Array, offset: number): { type: number; end: number; classField: number; ttl: number; rdata: number; rdlen: number } | undefined {
  const owner = walkName(buf, offset, false);
  if (!owner || owner.end + 10 > buf.length) return undefined;
  const p = owner.end;
  const type = (buf[p]! << 8) | buf[p + 1]!;
  const classField = (buf[p + 2]! << 8) | buf[p + 3]!;
  const ttl = ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
  const rdlen = (buf[p + 8]! << 8) | buf[p + 9]!;
  const rdata = p + 10;
  if (rdata + rdlen > buf.length) return undefined;
  if (type === RRType.OPT && owner.size !== 0) return undefined; // OPT's owner is the root
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
    raw: buf,
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
