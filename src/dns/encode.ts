// Reply encoder: copies the query's header+question verbatim (so the client's spelling of the name is kept),
// compresses names against everything written before (answers owned by the question name become a 2-byte
// pointer), and truncates at record boundaries with TC set, always keeping the OPT record
// (RFC 6891 §7; dns2 drops it, see ARCHITECTURE.md, Libraries).
import { Flag, HEADER_SIZE, OPTION_EDE, RRType } from './constants.js';
import type { Query, Reply, RR } from './message.js';

const MAX_MESSAGE = 65535;
/** One scratch buffer: encoding is synchronous, and the result is copied out before the next call. */
const scratch = Buffer.allocUnsafe(MAX_MESSAGE + 1024);

class TooBig extends Error {}
const TOO_BIG = new TooBig();

class Writer {
  pos = 0;
  /**
   * Name suffix → offset of its first occurrence; only offsets < 0x4000 can be pointed at. Matching is exact,
   * not case-insensitive: a pointer then never changes the spelling a record was built with, which is how
   * CoreDNS (miekg/dns) writes replies, so the two agree byte for byte on mixed-case queries.
   */
  readonly names = new Map<string, number>();
  /** keys added since the last mark, so a record that does not fit can be rolled back. */
  private added: string[] = [];

  constructor(
    readonly buf: Buffer,
    public limit: number,
  ) {}

  ensure(n: number): void {
    if (this.pos + n > this.limit) throw TOO_BIG;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  mark(): number {
    this.added = [];
    return this.pos;
  }
  rollback(pos: number): void {
    for (const key of this.added) this.names.delete(key);
    this.added = [];
    this.pos = pos;
  }

  remember(key: string, offset: number): void {
    if (offset < 0x4000 && !this.names.has(key)) {
      this.names.set(key, offset);
      this.added.push(key);
    }
  }

  /** Writes `name` with compression (or without, for SRV targets: RFC 2782), registering its suffixes. */
  name(name: string, compress = true): void {
    if (name === '') return this.u8(0);
    let start = 0;
    while (start < name.length) {
      const suffix = start === 0 ? name : name.substring(start);
      if (compress) {
        const at = this.names.get(suffix);
        if (at !== undefined) return this.u16(0xc000 | at);
      }
      this.remember(suffix, this.pos);
      let end = nextDot(name, start);
      this.label(name, start, end);
      start = end + 1;
    }
    this.u8(0);
  }

  private label(name: string, start: number, end: number): void {
    const lenAt = this.pos;
    this.u8(0);
    for (let i = start; i < end; i++) {
      let c = name.charCodeAt(i);
      if (c === 0x5c && i + 1 < end) {
        const d = name.substring(i + 1, i + 4);
        if (/^\d{3}$/.test(d)) {
          c = Number(d);
          i += 3;
        } else {
          c = name.charCodeAt(++i);
        }
      }
      this.u8(c & 0xff);
    }
    const len = this.pos - lenAt - 1;
    if (len > 63) throw new Error(`label longer than 63 octets in ${name}`);
    this.buf[lenAt] = len;
  }
}

/** Index of the next unescaped '.' at or after `from`, or name.length. */
function nextDot(name: string, from: number): number {
  for (let i = from; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x2e) return i;
  }
  return name.length;
}

/** Seeds the compression table with the question name's suffixes at their offsets in the copied question. */
function seedQuestion(w: Writer, query: Query): void {
  const name = query.name;
  if (name === '' || name.includes('\\')) return;
  let offset = HEADER_SIZE;
  let start = 0;
  while (start < name.length) {
    w.remember(name.substring(start), offset);
    const end = nextDot(name, start);
    offset += end - start + 1;
    start = end + 1;
  }
}

function writeRecord(w: Writer, rr: RR): void {
  w.name(rr.name);
  w.u16(rr.type);
  w.u16('raw' in rr ? rr.rclass : 1); // class IN for everything we build
  w.u32(rr.ttl);
  const lenAt = w.pos;
  w.u16(0);
  if ('raw' in rr) {
    w.bytes(rr.raw);
    w.buf.writeUInt16BE(w.pos - lenAt - 2, lenAt);
    return;
  }
  switch (rr.type) {
    case RRType.MX:
      w.u16(rr.mx.preference);
      w.name(rr.mx.exchange);
      break;
    case RRType.A:
    case RRType.AAAA:
      w.bytes(rr.bytes);
      break;
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
      w.name(rr.target);
      break;
    case RRType.SRV:
      w.u16(rr.srv.priority);
      w.u16(rr.srv.weight);
      w.u16(rr.srv.port);
      w.name(rr.srv.target, false);
      break;
    case RRType.SOA:
      w.name(rr.soa.mname);
      w.name(rr.soa.rname);
      w.u32(rr.soa.serial);
      w.u32(rr.soa.refresh);
      w.u32(rr.soa.retry);
      w.u32(rr.soa.expire);
      w.u32(rr.soa.minimum);
      break;
    case RRType.TXT:
      for (const text of rr.texts) {
        const bytes = Buffer.from(text, 'utf8');
        w.u8(Math.min(bytes.length, 255));
        w.bytes(bytes.subarray(0, 255));
      }
      break;
  }
  w.buf.writeUInt16BE(w.pos - lenAt - 2, lenAt);
}

function optSize(reply: Reply): number {
  return 11 + (reply.ede ? 6 + Buffer.byteLength(reply.ede.text) : 0) + (reply.relayedOptions?.length ?? 0);
}

function writeOpt(w: Writer, query: Query, reply: Reply, payloadSize: number): void {
  w.u8(0); // root owner
  w.u16(RRType.OPT);
  w.u16(payloadSize);
  const extendedRcode = reply.rcode >> 4;
  w.u32(((extendedRcode & 0xff) << 24) | (query.edns?.dnssecOk ? 0x8000 : 0));
  const text = reply.ede ? Buffer.from(reply.ede.text, 'utf8') : undefined;
  const relayed = reply.relayedOptions ?? EMPTY_BYTES;
  w.u16((text ? 6 + text.length : 0) + relayed.length);
  if (reply.ede && text) {
    w.u16(OPTION_EDE);
    w.u16(2 + text.length);
    w.u16(reply.ede.code);
    w.bytes(text);
  }
  w.bytes(relayed);
}
const EMPTY_BYTES = new Uint8Array(0);

export interface EncodeOptions {
  /** Largest message the transport can carry: the UDP payload limit, or 65535 over TCP. */
  maxSize: number;
  /** UDP payload size written in our OPT record: the client's own, which CoreDNS echoes (request.SizeAndDo). */
  advertisedPayload: number;
}

/**
 * Encodes `reply` for `query`. Records that do not fit in `maxSize` are left out from the first one
 * that does not fit, and TC is set (RFC 2181 §9, as miekg/dns `Truncate` does for CoreDNS).
 */
export function encodeReply(query: Query, reply: Reply, opts: EncodeOptions): Buffer {
  const withOpt = query.edns !== undefined;
  const limit = Math.min(opts.maxSize, MAX_MESSAGE) - (withOpt ? optSize(reply) : 0);
  const w = new Writer(scratch, limit);
  w.bytes(query.raw.subarray(0, query.questionEnd));
  const hasQuestion = query.questionEnd > HEADER_SIZE;
  seedQuestion(w, query);

  const afterQuestion = w.mark();
  const counts = [0, 0, 0];
  let truncated = reply.truncated === true;
  const sections = [reply.answer, reply.authority, reply.additional];
  outer: for (let s = 0; s < 3; s++) {
    for (const rr of sections[s]!) {
      const before = w.mark();
      try {
        writeRecord(w, rr);
        counts[s]!++;
      } catch (e) {
        if (e !== TOO_BIG) throw e;
        w.rollback(before);
        truncated = true;
        if (reply.truncateWhole) {
          // Names the dropped records registered for compression stay in the table, pointing past the end; harmless,
          // since only the OPT (root owner) is written after this.
          w.rollback(afterQuestion);
          counts.fill(0);
        }
        break outer;
      }
    }
  }
  if (withOpt) {
    w.limit = MAX_MESSAGE + 1024;
    writeOpt(w, query, reply, opts.advertisedPayload);
  }

  const buf = w.buf;
  let flags = Flag.QR | ((reply.relayedFlags ?? query.flags) & (Flag.RD | Flag.CD)) | (query.flags & 0x7800); // keep opcode
  if (reply.authoritative) flags |= Flag.AA;
  if (reply.recursionAvailable) flags |= Flag.RA;
  if (reply.authenticData) flags |= Flag.AD;
  if (truncated) flags |= Flag.TC;
  flags |= reply.rcode & 0xf;
  buf.writeUInt16BE(query.id, 0);
  buf.writeUInt16BE(flags, 2);
  buf.writeUInt16BE(hasQuestion ? 1 : 0, 4);
  buf.writeUInt16BE(counts[0]!, 6);
  buf.writeUInt16BE(counts[1]!, 8);
  buf.writeUInt16BE(counts[2]! + (withOpt ? 1 : 0), 10);
  return Buffer.from(buf.subarray(0, w.pos));
}
