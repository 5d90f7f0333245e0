// Replaying encoded answers: the fast path, in the wire layer. The encoded sections of a reply are kept per
// exact question bytes and EDNS shape. Cluster answers are valid for one index generation; forwarded answers
// for as long as they stay fresh, their TTLs counted down in place at each replay. A hit copies the query's
// header and question (so ID, RD/CD and the client's spelling come back as sent), patches the flags and
// counts, appends the cached sections and an OPT if the query had one: no decoding, no lookup, no encoding.
// Anything unusual — upper-case letters (0x20 clients), compression in the question, extra records, another
// opcode — takes the full path. Nothing outside dns/ reads or writes header bits; the pipeline sees a typed hit.
import { Flag, HEADER_SIZE, MAX_UDP_PAYLOAD, Rcode, RRType } from './constants.js';
import type { Doorkeeper } from './doorkeeper.js';
import { encodeReply } from './encode.js';
import type { Query, Reply, ReplySource } from './message.js';
import { recordSpans, ttlOffsets } from './ttl-offsets.js';

/** The question of a plain query, parsed just enough to key it. */
export interface ReplayQuestion {
  key: string;
  /** Offset just past the question. */
  end: number;
  edns: boolean;
  dnssecOk: boolean;
  /** The UDP payload the client accepts (512 without EDNS). */
  udpSize: number;
}

/**
 * Part of the cache's arena (ReplayCache): entries' bytes are packed into shared slabs instead of a Buffer each,
 * which cost about 300 bytes of objects apiece (a view, an ArrayBuffer and its backing store) around answers of
 * 50-200 bytes. `live` counts the bytes of entries still in it; a slab nobody uses is left to the collector.
 */
interface Slab {
  readonly buf: Buffer;
  live: number;
}

export interface ReplayEntry {
  /** The encoded answer/authority/additional sections (no OPT): `len` bytes at `at` of the slab's buffer. */
  readonly slab: Slab;
  readonly at: number;
  readonly len: number;
  /**
   * Load-balancing rotations, one per replay in turn. `copies` stored bodies of `len` bytes each, one after the
   * other; or one body whose `rotate.count` address records of `rotate.size` bytes from `rotate.at` are rotated
   * as they are copied out (what addressRotations produces, verified byte for byte when stored).
   */
  readonly copies: number;
  readonly rotate?: { at: number; size: number; count: number; turns: number };
  next: number;
  /** Second header word without RD/CD: QR, AA, rcode. */
  readonly flags: number;
  readonly an: number;
  readonly ns: number;
  readonly ar: number;
  /** What an observer labels a replay with. A replayed forwarded answer is a cache hit. */
  readonly lowerName: string;
  readonly type: number;
  readonly rcode: number;
  readonly source: ReplySource;
  /** Forwarded answers: where the TTLs are in the body, their values when stored, and for how long. */
  readonly ttl?: { offsets: number[]; base: number[]; storedAt: number; expiresAt: number };
  /** Scratch space owned by the observer (metric cells per transport and family), opaque here. */
  readonly memo: unknown[];
}

/** A replayed reply: the bytes to send and what they were made from. */
export interface ReplayHit {
  bytes: Buffer;
  entry: ReplayEntry;
  dnssecOk: boolean;
}

/** Parses just enough of a plain query to key it; undefined sends it down the full path. */
export function replayQuestion(buf: Buffer): ReplayQuestion | undefined {
  const len = buf.length;
  // QR=0 and opcode QUERY; one question, nothing in answer/authority, at most one additional (the OPT).
  if (len < 17 || (buf[2]! & 0xf8) !== 0 || buf[4] !== 0 || buf[5] !== 1 || (buf[6]! | buf[7]! | buf[8]! | buf[9]! | buf[10]!) !== 0 || buf[11]! > 1) return undefined;
  let p = HEADER_SIZE;
  for (;;) {
    if (p >= len) return undefined;
    const l = buf[p]!;
    if (l === 0) break;
    if (l > 63) return undefined; // a pointer, or a bad length
    for (let i = p + 1; i <= p + l; i++) {
      const c = buf[i]!;
      if (c >= 0x41 && c <= 0x5a) return undefined; // upper case: let the full path keep the client's spelling exactly
    }
    p += l + 1;
  }
  const end = p + 5;
  if (buf[11] === 0) return end === len ? { key: buf.toString('latin1', HEADER_SIZE, end), end, edns: false, dnssecOk: false, udpSize: 512 } : undefined;
  // The one additional record must be a plain OPT: root owner, version 0, no options, ending the message.
  if (end + 11 !== len || buf[end] !== 0 || buf[end + 1] !== 0 || buf[end + 2] !== RRType.OPT || buf[end + 6] !== 0 || buf[end + 9] !== 0 || buf[end + 10] !== 0) return undefined;
  const dnssecOk = (buf[end + 7]! & 0x80) !== 0;
  const udpSize = Math.max(512, (buf[end + 3]! << 8) | buf[end + 4]!);
  return { key: buf.toString('latin1', HEADER_SIZE, end) + (dnssecOk ? '\u0002' : '\u0001'), end, edns: true, dnssecOk, udpSize };
}

/** An authoritative answer the full path would encode identically until the index changes. */
export function replayableForGeneration(reply: Reply): boolean {
  return reply.source === 'cluster' && !reply.perClient && reply.authoritative && !reply.truncated && !reply.ede && (reply.rcode === Rcode.NOERROR || reply.rcode === Rcode.NXDOMAIN);
}

/**
 * The rotations as one body and a rule, when every variant is variant 0 with one contiguous run of equal-size
 * address records in the answer section rotated by its index (what loadbalance.ts addressRotations makes).
 */
function asRotation(bodies: Buffer[], an: number): ReplayEntry['rotate'] {
  const spans = recordSpans(bodies[0]!, 0, an);
  if (!spans) return undefined;
  const addr = spans.filter((r) => r.type === RRType.A || r.type === RRType.AAAA);
  const count = addr.length;
  if (count < 2 || addr.some((r, k) => r.size !== addr[0]!.size || (k > 0 && r.at !== addr[k - 1]!.at + r.size))) return undefined;
  const at = addr[0]!.at;
  const size = addr[0]!.size;
  const first = bodies[0]!;
  for (let r = 1; r < bodies.length; r++) {
    const v = bodies[r]!;
    if (v.length !== first.length || !rotated(first, at, size, count, r).equals(v)) return undefined;
  }
  return { at, size, count, turns: bodies.length };
}

function rotated(body: Buffer, at: number, size: number, count: number, r: number): Buffer {
  const out = Buffer.from(body);
  body.copy(out, at, at + r * size, at + count * size);
  body.copy(out, at + (count - r) * size, at, at + r * size);
  return out;
}

/**
 * Encodes a reply (one per load-balancing rotation) and keeps what a replay needs; `store` places the bytes.
 * `replayFor` seconds bounds a forwarded answer, whose TTLs are then counted down; without it the entry lives
 * for the generation. Undefined when it cannot be replayed: not encodable, truncated, or rotations whose TTLs move.
 */
export function recordReplay(
  query: Query,
  q: ReplayQuestion,
  replies: Reply[],
  replayFor: number | undefined,
  now: number,
  store: (bytes: Buffer[], total: number) => { slab: Slab; at: number } = ownSlab,
): ReplayEntry | undefined {
  const variants: Buffer[] = [];
  let header: Buffer | undefined;
  let ttl: ReplayEntry['ttl'];
  const opt = q.edns ? 11 : 0;
  for (const v of replies) {
    let full: Buffer;
    try {
      full = encodeReply(query, v, { maxSize: 65535, advertisedPayload: MAX_UDP_PAYLOAD });
    } catch {
      return undefined; // not encodable (the full path answered SERVFAIL): nothing to keep
    }
    if (full[2]! & 0x02) return undefined; // TC: never replayed
    header ??= full;
    const body = full.subarray(q.end, full.length - opt);
    if (variants.length && body.length !== variants[0]!.length) return undefined; // rotations keep the size
    if (replayFor !== undefined) {
      const records = full.readUInt16BE(6) + full.readUInt16BE(8) + full.readUInt16BE(10) - (q.edns ? 1 : 0);
      const offsets = ttlOffsets(body, 0, records);
      if (!offsets) return undefined;
      // Rotations move records of one size only, so every variant has its TTLs at the same offsets; if not, skip.
      if (ttl && offsets.join() !== ttl.offsets.join()) return undefined;
      ttl ??= { offsets, base: offsets.map((o) => body.readUInt32BE(o)), storedAt: now, expiresAt: now + replayFor * 1000 };
    }
    variants.push(body);
  }
  if (!header) return undefined;
  const an = header.readUInt16BE(6);
  const rotate = variants.length > 1 ? asRotation(variants, an) : undefined;
  const kept = rotate ? [variants[0]!] : variants;
  const len = variants[0]!.length;
  const { slab, at } = store(kept, len * kept.length);
  const reply = replies[0]!;
  return {
    slab,
    at,
    len,
    copies: kept.length,
    ...(rotate ? { rotate } : {}),
    next: 0,
    // A replayed forward answer is a cache hit, which CoreDNS marks authoritative (see Forwarder.replyFrom).
    flags: ((header[2]! & 0xfe) << 8) | (header[3]! & 0xef) | (replayFor !== undefined ? Flag.AA : 0),
    an,
    ns: header.readUInt16BE(8),
    ar: header.readUInt16BE(10) - (q.edns ? 1 : 0),
    lowerName: query.lowerName,
    type: query.type,
    rcode: reply.rcode,
    source: replayFor !== undefined ? 'cache' : (reply.source ?? 'cluster'),
    ...(ttl ? { ttl } : {}),
    memo: [],
  };
}

/**
 * The bytes copied into a buffer of their own. Small Buffers are slices of Node's shared 8 KiB pool, and a
 * slice kept for minutes pins its whole slab: measured, 50 k stored answers held ~180 MB that way instead of a
 * few MB. A long-lived entry must own its bytes, or share them only with other entries (ReplayCache's slabs).
 */
function ownSlab(bytes: Buffer[], total: number): { slab: Slab; at: number } {
  const slab: Slab = { buf: Buffer.allocUnsafeSlow(total), live: total };
  copyInto(slab.buf, 0, bytes);
  return { slab, at: 0 };
}

function copyInto(buf: Buffer, at: number, bytes: Buffer[]): void {
  for (const b of bytes) {
    b.copy(buf, at);
    at += b.length;
  }
}

/** What an entry costs besides its bytes: its key (two bytes a character) and the objects around it. */
export function replayEntryBytes(key: string): number {
  return 2 * key.length + ENTRY_OVERHEAD;
}

/** The entry object, its key, its Map slot, its memo cells and its share of the names' answer memos: measured with bench/memory-model.ts (628 bytes an answer in all at 10,000 Services, the bytes included). */
const ENTRY_OVERHEAD = 480;

export const DEFAULT_REPLAY_ENTRIES = 50_000;
export const DEFAULT_REPLAY_BYTES = 32 * 1024 * 1024;

/**
 * The reply bytes for a stored entry, or undefined when it would not fit `maxSize` (the full path truncates).
 * `now` is asked only for entries whose TTLs count down.
 */
export function replayBytes(query: Buffer, q: ReplayQuestion, e: ReplayEntry, maxSize: number, now: () => number): Buffer | undefined {
  const len = e.len;
  const size = q.end + len + (q.edns ? 11 : 0);
  if (size > maxSize) return undefined;
  const turn = e.copies > 1 ? e.next++ % e.copies : e.rotate ? e.next++ % e.rotate.turns : 0;
  const from = e.at + (e.copies > 1 ? turn * len : 0);
  const out = Buffer.allocUnsafe(size);
  query.copy(out, 0, 0, q.end);
  out[2] = (e.flags >> 8) | (query[2]! & 0x01); // QR, AA, and the client's RD
  out[3] = (e.flags & 0xff) | (query[3]! & 0x10); // rcode, and the client's CD
  out[6] = e.an >> 8;
  out[7] = e.an & 0xff;
  out[8] = e.ns >> 8;
  out[9] = e.ns & 0xff;
  const ar = e.ar + (q.edns ? 1 : 0);
  out[10] = ar >> 8;
  out[11] = ar & 0xff;
  const buf = e.slab.buf;
  buf.copy(out, q.end, from, from + len);
  if (e.rotate && turn > 0) {
    const { at, size: rs, count } = e.rotate;
    const base = q.end + at;
    buf.copy(out, base, from + at + turn * rs, from + at + count * rs);
    buf.copy(out, base + (count - turn) * rs, from + at, from + at + turn * rs);
  }
  if (e.ttl) {
    const elapsed = Math.floor((now() - e.ttl.storedAt) / 1000);
    const { offsets, base } = e.ttl;
    for (let i = 0; i < offsets.length; i++) out.writeUInt32BE(Math.max(0, base[i]! - elapsed), q.end + offsets[i]!);
  }
  if (q.edns) {
    const o = q.end + len;
    out[o] = 0;
    out[o + 1] = 0;
    out[o + 2] = RRType.OPT;
    out[o + 3] = q.udpSize >> 8; // the client's size echoed, as the full path does
    out[o + 4] = q.udpSize & 0xff;
    out[o + 5] = 0;
    out[o + 6] = 0;
    out[o + 7] = q.dnssecOk ? 0x80 : 0;
    out[o + 8] = 0;
    out[o + 9] = 0;
    out[o + 10] = 0;
  }
  return out;
}

/**
 * The stored entries, valid for one generation of the data behind them, bounded by count and by bytes: a
 * client asking for random names fills it with small NXDOMAIN answers, a few large answers (TCP, up to 64 KiB
 * each) would otherwise make the count bound gigabytes. The bytes counted are the slabs the answers are packed
 * into (whole, holes left by deleted entries included) plus each entry's measured overhead, so the bound holds
 * for what is really held.
 */
export class ReplayCache {
  private readonly map = new Map<string, ReplayEntry>();
  private generation = -1;
  private used = 0;
  private slab: Slab | undefined;
  private slabUsed = 0;
  private readonly slabSize: number;

  constructor(
    /** Entries at most (see docs/benchmarks.md, Memory model, for how the defaults were chosen). */
    private readonly maxEntries = DEFAULT_REPLAY_ENTRIES,
    private readonly now: () => number = Date.now,
    private readonly maxBytes = DEFAULT_REPLAY_BYTES,
    /** Stores a question's answer only once it was asked before (dns/doorkeeper.ts); undefined stores every one. */
    private readonly admission?: Doorkeeper,
  ) {
    this.slabSize = Math.max(4096, Math.min(64 * 1024, Math.floor(maxBytes / 64)));
  }

  /** Replays the answer to `packet` if one is stored and fits; undefined sends the query down the full path. */
  hit(packet: Buffer, q: ReplayQuestion, generation: number, udp: boolean): ReplayHit | undefined {
    const e = this.get(q.key, generation);
    if (!e) return undefined;
    const bytes = replayBytes(packet, q, e, udp ? Math.min(q.udpSize, MAX_UDP_PAYLOAD) : Infinity, this.now);
    return bytes ? { bytes, entry: e, dnssecOk: q.dnssecOk } : undefined;
  }

  /** Keeps the answer to `query` (see recordReplay) for this generation. */
  remember(query: Query, q: ReplayQuestion, replies: Reply[], replayFor: number | undefined, generation: number): void {
    if (generation !== this.generation) this.clear(generation);
    if (this.admission && !this.admission.admit(q.key)) return;
    const entry = recordReplay(query, q, replies, replayFor, this.now(), this.store);
    if (entry) this.set(q.key, entry);
  }

  /** Places an entry's bytes: packed into the current slab, or a buffer of their own when large. */
  private readonly store = (bytes: Buffer[], total: number): { slab: Slab; at: number } => {
    if (total > this.slabSize / 4) {
      this.used += total;
      return ownSlab(bytes, total);
    }
    if (!this.slab || this.slabUsed + total > this.slabSize) {
      this.slab = { buf: Buffer.allocUnsafeSlow(this.slabSize), live: 0 };
      this.slabUsed = 0;
      this.used += this.slabSize;
    }
    const at = this.slabUsed;
    copyInto(this.slab.buf, at, bytes);
    this.slabUsed += total;
    this.slab.live += total;
    return { slab: this.slab, at };
  };

  private get(key: string, generation: number): ReplayEntry | undefined {
    if (generation !== this.generation) {
      // The data changed: every stored answer may be stale. Cluster changes are rare next to queries.
      this.clear(generation);
      return undefined;
    }
    const e = this.map.get(key);
    if (e?.ttl && this.now() >= e.ttl.expiresAt) {
      this.delete(key, e);
      return undefined;
    }
    return e;
  }

  private set(key: string, entry: ReplayEntry): void {
    const bytes = entry.len * entry.copies;
    this.used += replayEntryBytes(key);
    if (bytes + replayEntryBytes(key) > this.maxBytes / 16) {
      this.delete(key, entry); // one answer may not take a sixteenth of the budget
      return;
    }
    const old = this.map.get(key);
    if (old) this.delete(key, old);
    if (this.map.size >= this.maxEntries || this.used > this.maxBytes) {
      // Bounded: drop the oldest tenth (a Map iterates in insertion order), not everything, so a working set a
      // little larger than the bound does not turn every query into a miss.
      let drop = Math.ceil(this.map.size / 10);
      for (const [k, e] of this.map) {
        this.delete(k, e);
        if (--drop <= 0 && this.used <= this.maxBytes) break;
      }
    }
    this.map.set(key, entry);
  }

  /** Forgets an entry (or one never kept): its overhead, and its bytes once its slab holds nothing else. */
  private delete(key: string, e: ReplayEntry): void {
    if (this.map.get(key) === e) this.map.delete(key);
    this.used -= replayEntryBytes(key);
    const slab = e.slab;
    slab.live -= e.len * e.copies;
    if (slab.live > 0) return;
    if (slab === this.slab) {
      this.slabUsed = 0; // empty again: reused from its start
      return;
    }
    this.used -= slab.buf.length;
  }

  private clear(generation: number): void {
    this.map.clear();
    this.slab = undefined;
    this.slabUsed = 0;
    this.used = 0;
    this.generation = generation;
  }

  get size(): number {
    return this.map.size;
  }

  /** The bytes held: slabs and own buffers, and each entry's overhead. */
  get bytes(): number {
    return this.used;
  }
}
