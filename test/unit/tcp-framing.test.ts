// RFC 1035 §4.2.2 / RFC 7766 framing: the splitter must reassemble messages however TCP chops the stream.
import assert from 'node:assert/strict';
import { FrameSplitter, frame } from '../../src/dns/framing.js';
import { pushTake } from '../helpers/frames.js';

/** A message of `len` bytes whose content identifies it (tag, then a counting pattern). */
function msg(tag: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (tag * 31 + i) & 0xff;
  return b;
}

function lengthPrefixed(...messages: Buffer[]): Buffer {
  return Buffer.concat(
    messages.flatMap((m) => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(m.length);
      return [len, m];
    }),
  );
}

/** Feeds `stream` in chunks of the given sizes (cycled) and collects everything that comes out. */
function feed(splitter: FrameSplitter, stream: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  for (let i = 0; pos < stream.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(...pushTake(splitter, stream.subarray(pos, pos + n)));
    pos += n;
  }
  return out;
}

describe('tcp framing', () => {
  describe('frame()', () => {
    it('prefixes the message with its length, big-endian', () => {
      const m = msg(1, 300);
      const f = frame(m);
      assert.equal(f.length, 302);
      assert.deepEqual(f.subarray(0, 2), Buffer.from([0x01, 0x2c]));
      assert.deepEqual(f.subarray(2), m);
      assert.deepEqual(frame(Buffer.alloc(0)), Buffer.from([0, 0]));
      const big = frame(Buffer.alloc(65535, 7));
      assert.deepEqual(big.subarray(0, 2), Buffer.from([0xff, 0xff]));
      assert.equal(big.length, 65537);
    });

    it('round-trips through the splitter', () => {
      const messages = [msg(1, 12), msg(2, 0), msg(3, 512), msg(4, 65535)];
      const s = new FrameSplitter();
      assert.deepEqual(pushTake(s, Buffer.concat(messages.map(frame))), messages);
      assert.equal(s.buffered, 0);
    });
  });

  describe('FrameSplitter', () => {
    it('reassembles one message fed byte by byte, emitting it only when complete', () => {
      const m = msg(5, 40);
      const stream = lengthPrefixed(m);
      const s = new FrameSplitter();
      for (let i = 0; i < stream.length - 1; i++) {
        assert.deepEqual(pushTake(s, stream.subarray(i, i + 1)), [], `nothing after byte ${i}`);
        assert.equal(s.buffered, i + 1);
      }
      assert.deepEqual(pushTake(s, stream.subarray(stream.length - 1)), [m]);
      assert.equal(s.buffered, 0);
    });

    it('reassembles a stream of messages chopped at every possible chunk size', () => {
      const messages = [msg(1, 12), msg(2, 29), msg(3, 1), msg(4, 300), msg(5, 0), msg(6, 45)];
      const stream = lengthPrefixed(...messages);
      for (const sizes of [[1], [2], [3], [7], [13], [1, 2, 3, 5, 8], [256], [stream.length]]) {
        const s = new FrameSplitter();
        assert.deepEqual(feed(s, stream, sizes), messages, `chunks of ${sizes.join(',')}`);
        assert.equal(s.buffered, 0);
      }
    });

    it('returns several messages from one chunk, in order', () => {
      const messages = Array.from({ length: 10 }, (_, i) => msg(i, 20 + i));
      const s = new FrameSplitter();
      const out = pushTake(s, lengthPrefixed(...messages));
      assert.equal(out.length, 10);
      assert.deepEqual(out, messages);
    });

    it('handles a length prefix split across chunks', () => {
      const m = msg(9, 0x1ff);
      const stream = lengthPrefixed(m);
      const s = new FrameSplitter();
      assert.deepEqual(pushTake(s, stream.subarray(0, 1)), []);
      assert.equal(s.buffered, 1);
      assert.deepEqual(pushTake(s, stream.subarray(1, 2)), []);
      assert.deepEqual(pushTake(s, stream.subarray(2, 100)), []);
      assert.deepEqual(pushTake(s, stream.subarray(100)), [m]);
    });

    it('handles a chunk that ends a message, holds a whole one, and starts a third mid-prefix', () => {
      const [a, b, c] = [msg(1, 30), msg(2, 10), msg(3, 20)];
      const stream = lengthPrefixed(a, b, c);
      const s = new FrameSplitter();
      const cut1 = 10;
      const cut2 = 2 + 30 + 2 + 10 + 1; // one byte into c's prefix
      assert.deepEqual(pushTake(s, stream.subarray(0, cut1)), []);
      assert.deepEqual(pushTake(s, stream.subarray(cut1, cut2)), [a, b]);
      assert.equal(s.buffered, 1);
      assert.deepEqual(pushTake(s, stream.subarray(cut2)), [c]);
      assert.equal(s.buffered, 0);
    });

    it('emits a zero-length frame as an empty message, without stalling what follows', () => {
      const s = new FrameSplitter();
      const out = pushTake(s, Buffer.from([0, 0, 0, 0, 0, 3, 1, 2, 3]));
      assert.equal(out.length, 3);
      assert.equal(out[0]!.length, 0);
      assert.equal(out[1]!.length, 0);
      assert.deepEqual(out[2], Buffer.from([1, 2, 3]));
    });

    it('holds an incomplete message while the length prefix claims more than has arrived', () => {
      const s = new FrameSplitter();
      assert.deepEqual(pushTake(s, Buffer.from([0xff, 0xff, 1, 2, 3])), []);
      assert.equal(s.buffered, 5);
      assert.deepEqual(pushTake(s, Buffer.alloc(1000)), []);
      assert.equal(s.buffered, 1005);
    });

    it('does not let later pushes overwrite messages already returned', () => {
      const s = new FrameSplitter();
      const chunk = lengthPrefixed(msg(1, 8), msg(2, 8));
      const first = pushTake(s, chunk.subarray(0, 15)); // first message plus 3 bytes of the second
      const copy = Buffer.from(first[0]!);
      pushTake(s, chunk.subarray(15));
      assert.deepEqual(first[0], copy);
      assert.deepEqual(first[0], msg(1, 8));
    });

    it('holds complete messages as bytes until taken, counting them in `buffered`', () => {
      const [a, b] = [msg(1, 10), msg(2, 20)];
      const s = new FrameSplitter();
      s.push(lengthPrefixed(a, b));
      assert.equal(s.buffered, 34);
      assert.equal(s.ready, true);
      assert.deepEqual(s.next(), a);
      assert.equal(s.buffered, 22);
      assert.deepEqual(s.next(), b);
      assert.equal(s.buffered, 0);
      assert.equal(s.next(), undefined);
    });

    it('says whether what it holds ends inside a message, wherever the cut falls', () => {
      const stream = lengthPrefixed(msg(1, 5), msg(2, 0), msg(3, 7));
      const ends = new Set([0, 7, 9, stream.length]); // message boundaries
      for (let cut = 0; cut <= stream.length; cut++) {
        for (const split of [1, 3]) {
          const s = new FrameSplitter();
          s.push(stream.subarray(0, Math.min(split, cut)));
          s.push(stream.subarray(Math.min(split, cut), cut));
          assert.equal(s.partial, !ends.has(cut), `cut at ${cut}, first chunk ${split}`);
          if (cut >= 9) s.next(); // taking complete messages does not change the answer
          assert.equal(s.partial, !ends.has(cut), `cut at ${cut} after one taken`);
        }
      }
    });

    it('discard() forgets everything and counts the complete messages it held', () => {
      const s = new FrameSplitter();
      s.push(lengthPrefixed(msg(1, 5), msg(2, 6), msg(3, 7)).subarray(0, 20)); // two whole, one begun
      assert.equal(s.discard(), 2);
      assert.equal(s.buffered, 0);
      assert.equal(s.partial, false);
      s.push(lengthPrefixed(msg(4, 3)));
      assert.deepEqual(s.next(), msg(4, 3));
    });
  });
});
