// RFC 1035 §4.2.2 / RFC 7766 TCP framing: each message is preceded by its 2-byte length. A pure splitter
// that copes with messages split across reads and several messages in one read (pipelining).
//
// Messages are taken one at a time (`next`), each as a view made when it is taken: a read of pipelined queries
// waits here as its bytes only. Splitting a read into views up front kept one object per query alive until the
// query ran, for turns of the event loop when the server was busy; measured with the hostile suite's clients
// that never read, those views were promoted to the old generation by the thousand and grew the heap by a
// third. Chunks of an incomplete message are kept as a list and its bytes copied out once it is complete: joining
// at every read made a client writing a 64 KiB frame one byte at a time cost 2 GB of copying.

export class FrameSplitter {
  /** Unread bytes: chunks[0] from `pos`, then the later chunks whole. */
  private chunks: Buffer[] = [];
  private pos = 0;
  private held = 0;

  /** Feeds bytes; the complete messages among them are then available from `next()`, in order. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.held += chunk.length;
  }

  /** The next complete message, or undefined when the bytes held are not one yet. */
  next(): Buffer | undefined {
    const len = this.nextLength();
    if (len < 0 || this.held < 2 + len) return undefined;
    const first = this.chunks[0]!;
    if (first.length - this.pos < 2 + len) return this.gather(2 + len).subarray(2);
    const message = first.subarray(this.pos + 2, this.pos + 2 + len);
    this.pos += 2 + len;
    this.held -= 2 + len;
    if (this.pos === first.length) {
      this.chunks.shift();
      this.pos = 0;
    }
    return message;
  }

  /**
   * Copies the next `size` held bytes, which span chunks, into a buffer of their own. Only the message is copied:
   * joining everything held copied a whole read (64 KiB) for each message cut by a read's end, and kept both.
   */
  private gather(size: number): Buffer {
    const out = Buffer.allocUnsafe(size);
    let filled = 0;
    let i = 0;
    let at = this.pos;
    while (filled < size) {
      const chunk = this.chunks[i]!;
      const take = Math.min(chunk.length - at, size - filled);
      chunk.copy(out, filled, at, at + take);
      filled += take;
      at += take;
      if (at === chunk.length) {
        i++;
        at = 0;
      }
    }
    this.chunks.splice(0, i); // once, not a shift per chunk: a message written a byte at a time spans 65,537 of them
    this.pos = at;
    this.held -= size;
    return out;
  }

  /** Whether `next()` would return a message. */
  get ready(): boolean {
    const len = this.nextLength();
    return len >= 0 && this.held >= 2 + len;
  }

  /** The announced length of the next message, or -1 before its two length bytes are held. */
  private nextLength(): number {
    if (this.held < 2) return -1;
    const first = this.chunks[0]!;
    if (first.length - this.pos >= 2) return first.readUInt16BE(this.pos);
    return (first[this.pos]! << 8) | this.chunks[1]![0]!;
  }

  /** Bytes held: complete messages not yet taken, and an incomplete one. */
  get buffered(): number {
    return this.held;
  }

  /** Whether the bytes held end inside a message (its length bytes or its body), however many complete ones come first. */
  get partial(): boolean {
    return this.walk().partial;
  }

  /** Forgets everything held; returns how many complete messages were among it. */
  discard(): number {
    const { complete } = this.walk();
    this.chunks = [];
    this.pos = 0;
    this.held = 0;
    return complete;
  }

  /** Reads the length prefixes of what is held, copying nothing: how many messages are complete, and whether more follows. */
  private walk(): { complete: number; partial: boolean } {
    let at = this.pos;
    let left = this.held;
    let i = 0;
    let complete = 0;
    const byte = (): number => {
      while (at >= this.chunks[i]!.length) {
        at -= this.chunks[i]!.length;
        i++;
      }
      return this.chunks[i]![at++]!;
    };
    while (left >= 2) {
      const len = (byte() << 8) | byte();
      left -= 2;
      if (left < len) return { complete, partial: true };
      left -= len;
      at += len;
      complete++;
    }
    return { complete, partial: left > 0 };
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
