// RFC 1035 §4.2.2 / RFC 7766 TCP framing: each message is preceded by its 2-byte length. A pure splitter
// that copes with messages split across reads and several messages in one read (pipelining).
//
// Chunks of an incomplete message are kept as a list and joined once the message is complete: joining at every
// read made a client writing a 64 KiB frame one byte at a time cost 2 GB of copying.

export class FrameSplitter {
  private chunks: Buffer[] = [];
  private held = 0;

  /** Feeds bytes; returns the complete messages now available, in order. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.held += chunk.length;
    if (this.held < 2 || this.held < 2 + this.nextLength()) return [];
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.held);
    const out: Buffer[] = [];
    let pos = 0;
    while (all.length - pos >= 2) {
      const len = all.readUInt16BE(pos);
      if (all.length - pos - 2 < len) break;
      out.push(all.subarray(pos + 2, pos + 2 + len));
      pos += 2 + len;
    }
    this.chunks = pos === all.length ? [] : [all.subarray(pos)];
    this.held = all.length - pos;
    return out;
  }

  /** The announced length of the message being gathered (needs two held bytes). */
  private nextLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 2) return first.readUInt16BE(0);
    const second = this.chunks[1]!;
    return (first[0]! << 8) | second[0]!;
  }

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.held;
  }
}

export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length + 2);
  frameInto(out, 0, message);
  return out;
}

/** Writes `message` with its length prefix into `buf` at `at`; returns the bytes written (its length + 2). */
export function frameInto(buf: Buffer, at: number, message: Buffer): number {
  buf.writeUInt16BE(message.length, at);
  message.copy(buf, at + 2);
  return message.length + 2;
}
