// Admission for the replay cache: a question's answer is stored the second time the full path answers it, not
// the first. A client asking for names nobody asks twice (random labels under the cluster zone, a cache-busting
// flood) then costs no cache memory and evicts nothing, while a question asked again within the doorkeeper's
// window is stored as before. This is TinyLFU's "doorkeeper" (Einziger, Friedman and Manes, 2017): a Bloom filter
// of the questions seen once, cleared after a fixed number of new questions so that it never fills. Measured on
// the hostile suite (docs/reliability.md): the live heap at the end of its patterns 29 -> 13 MB.

/** Bits in the filter: 2^20, 128 KiB. */
const DEFAULT_LOG2_BITS = 20;

export class Doorkeeper {
  private readonly bits: Uint32Array;
  private readonly mask: number;
  /** New questions marked since the last clear; past `capacity` the filter starts again empty. */
  private marked = 0;
  private readonly capacity: number;

  constructor(log2Bits = DEFAULT_LOG2_BITS) {
    if (!Number.isInteger(log2Bits) || log2Bits < 5 || log2Bits > 30) throw new RangeError(`doorkeeper: log2Bits ${log2Bits} is not an integer in 5..30`);
    this.bits = new Uint32Array(2 ** (log2Bits - 5));
    this.mask = 2 ** log2Bits - 1;
    // Two bits a question and at most an eighth of the bits set: a first sighting is taken for a second (and
    // admitted) at most 1/64 of the time.
    this.capacity = 2 ** (log2Bits - 4);
  }

  /** True when `key` was seen (probably) since the last clear; marks it seen when it was not. */
  admit(key: string): boolean {
    const h1 = fnv1a(key);
    // Double hashing: the second index from a mix of the first hash, odd so the two differ.
    const h2 = (Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) | 1) >>> 0;
    const a = h1 & this.mask;
    const b = (h1 + h2) & this.mask;
    if (this.has(a) && this.has(b)) return true;
    if (++this.marked > this.capacity) {
      this.bits.fill(0);
      this.marked = 1;
    }
    this.set(a);
    this.set(b);
    return false;
  }

  private has(i: number): boolean {
    return (this.bits[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  private set(i: number): void {
    const w = i >>> 5;
    this.bits[w] = this.bits[w]! | (1 << (i & 31));
  }
}

/** 32-bit FNV-1a over the string's UTF-16 code units: fast, and good enough for a filter that may err. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
