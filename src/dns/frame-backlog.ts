// TCP replies waiting behind a client that does not read, packed into a few slabs as framed bytes (RFC 1035
// §4.2.2 length prefix, then the message). Written to a stream one at a time, each small reply would wait as its
// own Buffer plus the stream's queue entry: measured with the hostile suite's clients that never read, 16 MiB of
// reply bytes held that way took about 30 MB more heap and allocator memory around them. Here a waiting
// reply costs its bytes and nothing else, so the byte limits of docs/reliability.md bound what is really held.
import { frameInto } from './framing.js';

/** Slab size: large enough that a backlog is a handful of writes, small enough that an idle one wastes little. */
const SLAB_BYTES = 16 * 1024;

export class FrameBacklog {
  private readonly slabs: Buffer[] = [];
  private used = 0;
  /** Framed bytes waiting. */
  bytes = 0;
  /** Replies waiting. */
  count = 0;

  /** Appends `message` with its two-byte length prefix. */
  push(message: Buffer): void {
    const size = message.length + 2;
    let slab = this.slabs[this.slabs.length - 1];
    if (!slab || this.used + size > slab.length) {
      if (slab) this.slabs[this.slabs.length - 1] = slab.subarray(0, this.used); // its unused tail is not sent
      slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, size));
      this.slabs.push(slab);
      this.used = 0;
    }
    this.used += frameInto(slab, this.used, message);
    this.bytes += size;
    this.count++;
  }

  /** Everything waiting, in the order pushed, as a few buffers; the backlog is empty afterwards. */
  take(): Buffer[] {
    const out = this.slabs.splice(0);
    if (out.length) out[out.length - 1] = out[out.length - 1]!.subarray(0, this.used);
    this.used = 0;
    this.bytes = 0;
    this.count = 0;
    return out;
  }
}
