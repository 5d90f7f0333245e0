// Queries we send to upstream servers: one question, our own random ID, the client's RD and CD bits, and an
// OPT record advertising 1232 bytes with the client's DO bit (so large answers come back over UDP once).
import { Flag, MAX_UDP_PAYLOAD, RRType } from './constants.js';

export interface UpstreamQuery {
  id: number;
  name: string;
  type: number;
  qclass: number;
  recursionDesired: boolean;
  checkingDisabled: boolean;
  dnssecOk: boolean;
}

/** Presentation name (with `\.` and `\DDD` escapes, as decode.ts writes them) → wire labels. */
export function nameToWire(name: string): Buffer {
  const out: number[] = [];
  let label: number[] = [];
  const flush = (): void => {
    if (label.length > 63) throw new Error(`label longer than 63 octets in ${name}`);
    out.push(label.length, ...label);
    label = [];
  };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) flush();
    else if (c === 0x5c && /^\d{3}$/.test(name.substring(i + 1, i + 4))) {
      label.push(Number(name.substring(i + 1, i + 4)) & 0xff);
      i += 3;
    } else if (c === 0x5c && i + 1 < name.length) label.push(name.charCodeAt(++i) & 0xff);
    else label.push(c & 0xff);
  }
  if (name !== '') flush();
  out.push(0);
  return Buffer.from(out);
}

export function encodeQuery(q: UpstreamQuery): Buffer {
  const wireName = nameToWire(q.name);
  const buf = Buffer.alloc(12 + wireName.length + 4 + 11);
  buf.writeUInt16BE(q.id, 0);
  buf.writeUInt16BE((q.recursionDesired ? Flag.RD : 0) | (q.checkingDisabled ? Flag.CD : 0), 2);
  buf.writeUInt16BE(1, 4);
  buf.writeUInt16BE(1, 10);
  wireName.copy(buf, 12);
  let p = 12 + wireName.length;
  buf.writeUInt16BE(q.type, p);
  buf.writeUInt16BE(q.qclass, p + 2);
  p += 4;
  buf[p] = 0; // OPT owner: root
  buf.writeUInt16BE(RRType.OPT, p + 1);
  buf.writeUInt16BE(MAX_UDP_PAYLOAD, p + 3);
  buf.writeUInt32BE(q.dnssecOk ? 0x8000 : 0, p + 5);
  buf.writeUInt16BE(0, p + 9);
  return buf;
}
