// Full message decoder for replies from upstream servers: every record of every section, with the names inside
// RDATA decompressed for the types that may carry compressed names (RFC 3597 §4), so records can be cached and
// re-encoded into another message. Other types keep their RDATA as opaque bytes.
import { MessageError } from '../base/errors.js';
export { MessageError };
import { Flag, HEADER_SIZE, RRType } from './constants.js';
import { readName } from './decode.js';
import type { RR } from './message.js';
import { formatIPv6 } from '../net/ip.js';

export interface DecodedMessage {
  id: number;
  flags: number;
  /** Full rcode, including the extended bits from the OPT record. */
  rcode: number;
  question: { name: string; type: number; qclass: number } | undefined;
  answer: RR[];
  authority: RR[];
  additional: RR[];
  /** The OPT record's payload size and DO bit, when present. */
  /** `options`: the OPT's RDATA as received (EDE, NSID, …), which a relay without a cache passes on. */
  opt: { udpSize: number; dnssecOk: boolean; options: Uint8Array } | undefined;
}


function u16(buf: Uint8Array, p: number): number {
  return (buf[p]! << 8) | buf[p + 1]!;
}
function u32(buf: Uint8Array, p: number): number {
  return ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
}

function name(buf: Uint8Array, p: number): { name: string; end: number } {
  const n = readName(buf, p);
  if (!n) throw new MessageError(`bad name at offset ${p}`);
  return n;
}

function record(buf: Uint8Array, p: number): { rr: RR | undefined; opt?: { udpSize: number; ttl: number; options: Uint8Array }; end: number } {
  const owner = name(buf, p);
  let q = owner.end;
  if (q + 10 > buf.length) throw new MessageError('record header runs past the end');
  const type = u16(buf, q);
  const rclass = u16(buf, q + 2);
  const ttl = u32(buf, q + 4);
  const rdlen = u16(buf, q + 8);
  q += 10;
  const end = q + rdlen;
  if (end > buf.length) throw new MessageError('RDATA runs past the end');
  if (type === RRType.OPT) return { rr: undefined, opt: { udpSize: rclass, ttl, options: buf.slice(q, end) }, end };
  const base = { name: owner.name, ttl: ttl > 0x7fffffff ? 0 : ttl }; // RFC 2181 §8: a TTL with the top bit set is 0
  const raw = (): RR => ({ ...base, type, rclass, raw: buf.slice(q, end) });
  if (rclass !== 1) return { rr: raw(), end };
  const checkEnd = (at: number): void => {
    if (at !== end) throw new MessageError(`RDATA of type ${type} has the wrong length`);
  };
  switch (type) {
    case RRType.A:
    case RRType.AAAA: {
      if (rdlen !== (type === RRType.A ? 4 : 16)) throw new MessageError('address of the wrong length');
      const bytes = buf.slice(q, end);
      const address = type === RRType.A ? Array.from(bytes).join('.') : formatIPv6(bytes);
      return { rr: { ...base, type, address, bytes }, end };
    }
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR: {
      const t = name(buf, q);
      checkEnd(t.end);
      return { rr: { ...base, type, target: t.name }, end };
    }
    case RRType.MX: {
      const x = name(buf, q + 2);
      checkEnd(x.end);
      return { rr: { ...base, type, mx: { preference: u16(buf, q), exchange: x.name } }, end };
    }
    case RRType.SRV: {
      const t = name(buf, q + 6);
      checkEnd(t.end);
      return { rr: { ...base, type, srv: { priority: u16(buf, q), weight: u16(buf, q + 2), port: u16(buf, q + 4), target: t.name } }, end };
    }
    case RRType.SOA: {
      const m = name(buf, q);
      const r = name(buf, m.end);
      checkEnd(r.end + 20);
      const n = r.end;
      return {
        rr: { ...base, type, soa: { mname: m.name, rname: r.name, serial: u32(buf, n), refresh: u32(buf, n + 4), retry: u32(buf, n + 8), expire: u32(buf, n + 12), minimum: u32(buf, n + 16) } },
        end,
      };
    }
    default:
      return { rr: raw(), end };
  }
}

/** The ID of a message long enough to have a header, read before decoding it (to find who is waiting for it). */
export function messageId(buf: Uint8Array): number | undefined {
  return buf.length < HEADER_SIZE ? undefined : (buf[0]! << 8) | buf[1]!;
}

/** A reply, as opposed to a query (the QR bit). */
export const isResponse = (m: DecodedMessage): boolean => (m.flags & Flag.QR) !== 0;

export function decodeMessage(buf: Uint8Array): DecodedMessage {
  if (buf.length < HEADER_SIZE) throw new MessageError('shorter than a header');
  const flags = u16(buf, 2);
  const counts = [u16(buf, 4), u16(buf, 6), u16(buf, 8), u16(buf, 10)] as const;
  let p = HEADER_SIZE;
  let question: DecodedMessage['question'];
  for (let i = 0; i < counts[0]; i++) {
    const n = name(buf, p);
    if (n.end + 4 > buf.length) throw new MessageError('question runs past the end');
    if (i === 0) question = { name: n.name, type: u16(buf, n.end), qclass: u16(buf, n.end + 2) };
    p = n.end + 4;
  }
  const sections: RR[][] = [[], [], []];
  let opt: DecodedMessage['opt'];
  let extendedRcode = 0;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const r = record(buf, p);
      p = r.end;
      if (r.opt) {
        opt = { udpSize: r.opt.udpSize, dnssecOk: (r.opt.ttl & 0x8000) !== 0, options: r.opt.options };
        extendedRcode = r.opt.ttl >>> 24;
      } else if (r.rr) sections[s]!.push(r.rr);
    }
  }
  return {
    id: u16(buf, 0),
    flags,
    rcode: (extendedRcode << 4) | (flags & 0xf),
    question,
    answer: sections[0]!,
    authority: sections[1]!,
    additional: sections[2]!,
    opt,
  };
}

export const isTruncated = (m: DecodedMessage): boolean => (m.flags & Flag.TC) !== 0;
