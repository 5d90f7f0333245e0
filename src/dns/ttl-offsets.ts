// Where the records of a message sit: each record's start, size, type and TTL field, so a replayed reply can
// have its TTLs counted down in place and its address records rotated (dns/replay.ts).
import { RRType } from './constants.js';

export interface RecordSpan {
  /** Offset of the owner name. */
  at: number;
  /** Owner, fixed fields and RDATA, in bytes. */
  size: number;
  type: number;
  /** Offset of the TTL field. */
  ttlAt: number;
}

/** The next `records` records from `start`, or undefined when the message ends inside one. */
export function recordSpans(msg: Uint8Array, start: number, records: number): RecordSpan[] | undefined {
  const out: RecordSpan[] = [];
  let p = start;
  for (let i = 0; i < records; i++) {
    const at = p;
    // Owner name: labels, ended by a zero byte or a 2-byte pointer.
    for (;;) {
      if (p >= msg.length) return undefined;
      const l = msg[p]!;
      if (l === 0) {
        p++;
        break;
      }
      if ((l & 0xc0) === 0xc0) {
        p += 2;
        break;
      }
      p += l + 1;
    }
    if (p + 10 > msg.length) return undefined;
    const type = (msg[p]! << 8) | msg[p + 1]!;
    const ttlAt = p + 4;
    p += 10 + ((msg[p + 8]! << 8) | msg[p + 9]!);
    out.push({ at, size: p - at, type, ttlAt });
  }
  return p <= msg.length ? out : undefined;
}

/** Offsets of the TTL field of each record after `start` (all three sections; the OPT record is skipped). */
export function ttlOffsets(msg: Uint8Array, start: number, records: number): number[] | undefined {
  return recordSpans(msg, start, records)?.filter((r) => r.type !== RRType.OPT).map((r) => r.ttlAt);
}
