// Replaying encoded answers: the fast path, in the wire layer. The encoded sections of a reply are kept per
// exact question bytes and EDNS shape. Cluster answers are valid for one index generation; forwarded answers
// for as long as they stay fresh, their TTLs counted down in place at each replay. A hit copies the query's
// header and question (so ID, RD/CD and the client's spelling come back as sent), patches the flags and
// counts, appends the cached sections and an OPT if the query had one: no decoding, no lookup, no encoding.
// Anything unusual — upper-case letters (0x20 clients), compression in the question, extra records, another
// opcode — takes the full path. Nothing outside dns/ reads or writes header bits; the pipeline sees a typed hit.
import { Flag, HEADER_SIZE, MAX_UDP_PAYLOAD, Rcode, RRType } from './constants.js';
import { encodeReply } from './encode.js';
import type { Query, Reply, ReplySource } from './message.js';
import { ttlOffsets } from './ttl-offsets.js';

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

export interface ReplayEntry {
  /** Encoded answer/authority/additional sections (no OPT), one per load-balancing rotation. */
  readonly variants: Buffer[];
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
  /** Forwarded answers: where the TTLs are in each variant's body, their values when stored, and for how long. */
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
 * Encodes a reply (one per load-balancing rotation) and keeps what a replay needs. `replayFor` seconds bounds
 * a forwarded answer, whose TTLs are then counted down; without it the entry lives for the generation.
 * Undefined when it cannot be replayed: not encodable, truncated, or rotations whose TTLs move.
 */
export function recordReplay(query: Query, q: ReplayQuestion, replies: Reply[], replayFor: number | undefined, now: number): ReplayEntry | undefined {
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
  const reply = replies[0]!;
  return {
    variants: ownedCopies(variants),
    next: 0,
    // A replayed forward answer is a cache hit, which CoreDNS marks authoritative (see Forwarder.replyFrom).
    flags: ((header[2]! & 0xfe) << 8) | (header[3]! & 0xef) | (replayFor !== undefined ? Flag.AA : 0),
    an: header.readUInt16BE(6),
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
 * The variants copied into one buffer of their own. Small Buffers are slices of Node's shared 8 KiB pool, and a
 * slice kept for minutes pins its whole slab: measured, 50 k stored answers held ~180 MB that way instead of a
 * few MB. A long-lived entry must own exactly its bytes.
 */
function ownedCopies(variants: Buffer[]): Buffer[] {
  const total = variants.reduce((n, v) => n + v.length, 0);
  const own = Buffer.allocUnsafeSlow(total);
  let at = 0;
  return variants.map((v) => {
    v.copy(own, at);
    at += v.length;
    return own.subarray(at - v.length, at);
  });
}

/** What an entry costs, roughly: its key (two bytes a character), its bytes, and the objects around them. */
export function replayEntryBytes(key: string, e: ReplayEntry): number {
  return 2 * key.length + e.variants.reduce((n, v) => n + v.length + 96, 0) + ENTRY_OVERHEAD;
}

/** The entry object, its Map slot, its arrays and memo cells, measured to within a factor (heap snapshot). */
const ENTRY_OVERHEAD = 400;

/**
 * The reply bytes for a stored entry, or undefined when it would not fit `maxSize` (the full path truncates).
 * `now` is asked only for entries whose TTLs count down.
 */
export function replayBytes(query: Buffer, q: ReplayQuestion, e: ReplayEntry, maxSize: number, now: () => number): Buffer | undefined {
  const body = e.variants.length === 1 ? e.variants[0]! : e.variants[e.next++ % e.variants.length]!;
  const size = q.end + body.length + (q.edns ? 11 : 0);
  if (size > maxSize) return undefined;
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
  body.copy(out, q.end);
  if (e.ttl) {
    const elapsed = Math.floor((now() - e.ttl.storedAt) / 1000);
    const { offsets, base } = e.ttl;
    for (let i = 0; i < offsets.length; i++) out.writeUInt32BE(Math.max(0, base[i]! - elapsed), q.end + offsets[i]!);
  }
  if (q.edns) {
    const o = q.end + body.length;
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
 * each) would otherwise make 50 k entries gigabytes.
 */
export class ReplayCache {
  private readonly map = new Map<string, ReplayEntry>();
  private generation = -1;
  private used = 0;

  constructor(
    /** ~50 k answers: enough for every name a 10k-Service cluster is really asked about. */
    private readonly maxEntries = 50_000,
    private readonly now: () => number = Date.now,
    /** 32 MiB: 50 k typical answers take about 30 MB (measured), so the count binds first unless answers are big. */
    private readonly maxBytes = 32 * 1024 * 1024,
  ) {}

  /** Replays the answer to `packet` if one is stored and fits; undefined sends the query down the full path. */
  hit(packet: Buffer, q: ReplayQuestion, generation: number, udp: boolean): ReplayHit | undefined {
    const e = this.get(q.key, generation);
    if (!e) return undefined;
    const bytes = replayBytes(packet, q, e, udp ? Math.min(q.udpSize, MAX_UDP_PAYLOAD) : Infinity, this.now);
    return bytes ? { bytes, entry: e, dnssecOk: q.dnssecOk } : undefined;
  }

  /** Keeps the answer to `query` (see recordReplay) for this generation. */
  remember(query: Query, q: ReplayQuestion, replies: Reply[], replayFor: number | undefined, generation: number): void {
    const entry = recordReplay(query, q, replies, replayFor, this.now());
    if (entry) this.set(q.key, generation, entry);
  }

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

  private set(key: string, generation: number, entry: ReplayEntry): void {
    if (generation !== this.generation) this.clear(generation);
    const size = replayEntryBytes(key, entry);
    if (size > this.maxBytes / 16) return; // one answer may not take a sixteenth of the budget
    const old = this.map.get(key);
    if (old) this.delete(key, old);
    if (this.map.size >= this.maxEntries || this.used + size > this.maxBytes) {
      // Bounded: drop the oldest tenth (a Map iterates in insertion order), not everything, so a working set a
      // little larger than the bound does not turn every query into a miss.
      let drop = Math.ceil(this.map.size / 10);
      for (const [k, e] of this.map) {
        this.delete(k, e);
        if (--drop <= 0 && this.used + size <= this.maxBytes) break;
      }
    }
    this.map.set(key, entry);
    this.used += size;
  }

  private delete(key: string, e: ReplayEntry): void {
    this.map.delete(key);
    this.used -= replayEntryBytes(key, e);
  }

  private clear(generation: number): void {
    this.map.clear();
    this.used = 0;
    this.generation = generation;
  }

  get size(): number {
    return this.map.size;
  }

  /** The estimated bytes held (replayEntryBytes summed). */
  get bytes(): number {
    return this.used;
  }
}
