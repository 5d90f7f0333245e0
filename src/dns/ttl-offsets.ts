// Where the TTL fields of a message's records sit, so a replayed reply can have its TTLs counted down in place.
import { RRType } from './constants.js';

/** Offsets of the TTL field of each record after `start` (all three sections; the OPT record is skipped). */
export function ttlOffsets(msg: Uint8Array, start: number, records: number): number[] | undefined {
  const out: number[] = [];
  let p = start;
  for (let i = 0; i < records; i++) {
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
    if (type !== RRType.OPT) out.push(p + 4);
    p += 10 + ((msg[p + 8]! << 8) | msg[p + 9]!);
  }
  return p <= msg.length ? out : undefined;
}
