// RFC 1035 §4.2.2 / RFC 7766 TCP framing: each message is preceded by its 2-byte length. A pure splitter
// that copes with messages split across reads and several messages in one read (pipelining).

export class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns the complete messages now available, in order. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    let pos = 0;
    while (this.pending.length - pos >= 2) {
      const len = this.pending.readUInt16BE(pos);
      if (this.pending.length - pos - 2 < len) break;
      out.push(this.pending.subarray(pos + 2, pos + 2 + len));
      pos += 2 + len;
    }
    this.pending = pos === this.pending.length ? Buffer.alloc(0) : this.pending.subarray(pos);
    return out;
  }

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.pending.length;
  }
}

export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length + 2);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}
