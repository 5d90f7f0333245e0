// The fast path: the encoded sections of a reply, cached per exact question bytes and EDNS shape. Cluster
// answers are valid for one index generation; forwarded answers from the cache for as long as they stay
// fresh, their TTLs counted down in place at each replay. A hit copies the query's header and question (so ID,
// RD/CD and the client's spelling come back as sent), patches the flags and counts, appends the cached
// sections and an OPT if the query had one: no decoding, no lookup, no encoding. Anything unusual — upper-case
// letters (0x20 clients), compression in the question, extra records, another opcode — takes the full path.
import { HEADER_SIZE, MAX_UDP_PAYLOAD } from '../dns/constants.js';
import type { MetricCells, QueryShape } from '../ops/query-metrics.js';
import { QueryMetrics } from '../ops/query-metrics.js';
import type { Proto } from './pipeline.js';

export interface CachedAnswer {
  /** Encoded answer/authority/additional sections (no OPT), one per load-balancing rotation. */
  variants: Buffer[];
  next: number;
  /** Second header word without RD/CD: QR, AA, rcode. */
  flags: number;
  an: number;
  ns: number;
  ar: number;
  shape: Omit<QueryShape, 'proto' | 'family' | 'dnssecOk'>;
  /** Metric cells per (proto, family, DO), filled on first use. */
  cells: Array<MetricCells | undefined>;
  /** Forwarded answers: where the TTLs are in each variant's body, their values when stored, and for how long. */
  ttl?: { offsets: number[]; base: number[]; storedAt: number; expiresAt: number; onReplay: () => void };
}

export interface FastQuestion {
  key: string;
  /** Offset just past the question. */
  end: number;
  edns: boolean;
  dnssecOk: boolean;
  /** The UDP payload the client accepts (512 without EDNS). */
  udpSize: number;
}

/** Parses just enough of a plain query to key it; undefined sends it down the full path. */
export function fastQuestion(buf: Buffer): FastQuestion | undefined {
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
  if (end + 11 !== len || buf[end] !== 0 || buf[end + 1] !== 0 || buf[end + 2] !== 41 || buf[end + 6] !== 0 || buf[end + 9] !== 0 || buf[end + 10] !== 0) return undefined;
  const dnssecOk = (buf[end + 7]! & 0x80) !== 0;
  const udpSize = Math.max(512, (buf[end + 3]! << 8) | buf[end + 4]!);
  return { key: buf.toString('latin1', HEADER_SIZE, end) + (dnssecOk ? '\u0002' : '\u0001'), end, edns: true, dnssecOk, udpSize };
}

export class AnswerCache {
  private readonly map = new Map<string, CachedAnswer>();
  private generation = -1;
  hits = 0;

  constructor(
    private readonly metrics: QueryMetrics,
    /** ~50 k answers is a few tens of MB: enough for every name a 10k-Service cluster is really asked about. */
    private readonly maxEntries = 50_000,
  ) {}

  get(key: string, generation: number): CachedAnswer | undefined {
    if (generation !== this.generation) {
      // The index changed: every cached answer may be stale. Cluster changes are rare next to queries.
      this.map.clear();
      this.generation = generation;
      return undefined;
    }
    const e = this.map.get(key);
    if (e?.ttl && Date.now() >= e.ttl.expiresAt) {
      this.map.delete(key);
      return undefined;
    }
    return e;
  }

  set(key: string, generation: number, entry: CachedAnswer): void {
    if (generation !== this.generation) {
      this.map.clear();
      this.generation = generation;
    }
    if (this.map.size >= this.maxEntries) {
      // Bounded: drop the oldest tenth (a Map iterates in insertion order), not everything, so a working set a
      // little larger than the bound does not turn every query into a miss.
      let drop = Math.ceil(this.maxEntries / 10);
      for (const k of this.map.keys()) {
        this.map.delete(k);
        if (--drop === 0) break;
      }
    }
    this.map.set(key, entry);
  }

  get size(): number {
    return this.map.size;
  }

  /** Builds the reply for a hit, or undefined when it would not fit the client's UDP size (full path truncates). */
  reply(query: Buffer, q: FastQuestion, e: CachedAnswer, proto: Proto, family: 4 | 6, started: bigint): Buffer | undefined {
    const body = e.variants.length === 1 ? e.variants[0]! : e.variants[e.next++ % e.variants.length]!;
    const size = q.end + body.length + (q.edns ? 11 : 0);
    if (proto === 'udp' && size > Math.min(q.udpSize, MAX_UDP_PAYLOAD)) return undefined;
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
      const elapsed = Math.floor((Date.now() - e.ttl.storedAt) / 1000);
      const { offsets, base } = e.ttl;
      for (let i = 0; i < offsets.length; i++) out.writeUInt32BE(Math.max(0, base[i]! - elapsed), q.end + offsets[i]!);
      e.ttl.onReplay();
    }
    if (q.edns) {
      const o = q.end + body.length;
      out[o] = 0;
      out[o + 1] = 0;
      out[o + 2] = 41;
      out[o + 3] = MAX_UDP_PAYLOAD >> 8;
      out[o + 4] = MAX_UDP_PAYLOAD & 0xff;
      out[o + 5] = 0;
      out[o + 6] = 0;
      out[o + 7] = q.dnssecOk ? 0x80 : 0;
      out[o + 8] = 0;
      out[o + 9] = 0;
      out[o + 10] = 0;
    }
    const slot = (proto === 'udp' ? 0 : 4) + (family === 6 ? 2 : 0) + (q.dnssecOk ? 1 : 0);
    const cells = (e.cells[slot] ??= this.metrics.cells({ ...e.shape, proto, family, dnssecOk: q.dnssecOk }));
    QueryMetrics.record(cells, Number(process.hrtime.bigint() - started) / 1e9, query.length, size);
    this.hits++;
    return out;
  }
}
