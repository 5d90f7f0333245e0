// The answer cache for forwarded names (never for the cluster zone, which is answered from the live index).
// Rules (RFC 2308, CoreDNS `cache`): a positive answer lives min(smallest record TTL, --cache-ttl); a negative
// one (NXDOMAIN or NODATA) only with an SOA in authority, for min(SOA TTL, SOA minimum, --cache-negative-ttl);
// SERVFAIL a few seconds at most; truncated replies never. Entries are keyed by lower-cased name, type, class
// and the DO and CD bits, bounded by count and by bytes (lru-cache), and served with their TTLs counted down.
import { LRUCache } from 'lru-cache';
import { Flag, Rcode, RRType } from '../dns/constants.js';
import type { DecodedMessage } from '../dns/decode-message.js';
import { cacheClass, type TtlCaps, uniformTtl, withTtl } from '../dns/cache-ttl.js';
import type { RR } from '../dns/message.js';

export interface CacheEntry {
  rcode: number;
  flags: number;
  answer: RR[];
  authority: RR[];
  additional: RR[];
  storedAt: number;
  /** When the entry stops being fresh (ms since epoch). */
  expiresAt: number;
  kind: 'success' | 'denial' | 'servfail';
  /** The upstream's EDNS options: only on the fresh entry handed to the querier, never stored. */
  options?: Uint8Array;
}

export interface CacheOptions {
  maxEntries: number;
  maxBytes: number;
  /** Caps, seconds. */
  positiveTtl: number;
  negativeTtl: number;
  servfailTtl: number;
  /** RFC 8767: how long past expiry an entry may still be served when every upstream fails; 0 = never. */
  staleSeconds: number;
  /**
   * --cache-cap-replies: an entry lives, and its records are stored with, the one TTL CoreDNS's cache gives
   * the reply (dns/cache-ttl.ts), so hits count down from it as CoreDNS's do.
   */
  uniform?: TtlCaps;
  /** CoreDNS `disable success` / `disable denial`: that kind is passed on but never stored. */
  noSuccess?: boolean;
  noDenial?: boolean;
}

export interface CacheStats {
  hits: { success: number; denial: number; servfail: number };
  misses: number;
  stale: number;
  inserts: number;
  evictions: number;
}

export interface CacheKey {
  name: string;
  type: number;
  qclass: number;
  dnssecOk: boolean;
  checkingDisabled: boolean;
}

export const cacheKey = (k: CacheKey): string => `${k.name.toLowerCase()}|${k.type}|${k.qclass}|${k.dnssecOk ? 1 : 0}${k.checkingDisabled ? 1 : 0}`;

function rrBytes(rr: RR): number {
  // A rough size for the byte bound: names, fixed fields and RDATA; exactness does not matter, proportion does.
  let n = rr.name.length + 12;
  if ('raw' in rr) n += rr.raw.length;
  else if ('target' in rr) n += rr.target.length;
  else if ('bytes' in rr) n += rr.bytes.length;
  else if ('texts' in rr) n += rr.texts.join('').length;
  else n += 48;
  return n;
}

export class ResponseCache {
  private readonly lru: LRUCache<string, CacheEntry>;
  readonly stats: CacheStats = { hits: { success: 0, denial: 0, servfail: 0 }, misses: 0, stale: 0, inserts: 0, evictions: 0 };

  constructor(
    readonly opts: CacheOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.lru = new LRUCache<string, CacheEntry>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: (e) => Math.max(1, [...e.answer, ...e.authority, ...e.additional].reduce((n, rr) => n + rrBytes(rr), 64)),
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.stats.evictions++;
      },
    });
  }

  get size(): number {
    return this.lru.size;
  }

  countByKind(): { success: number; denial: number } {
    let success = 0;
    let denial = 0;
    for (const e of this.lru.values()) {
      if (e.kind === 'success') success++;
      else denial++;
    }
    return { success, denial };
  }

  /** A fresh entry, or (with `stale`) an expired one still inside the stale window. */
  get(key: string, opts: { stale?: boolean } = {}): CacheEntry | undefined {
    const e = this.lru.get(key);
    if (!e) {
      if (!opts.stale) this.stats.misses++;
      return undefined;
    }
    const now = this.clock();
    if (now < e.expiresAt) {
      if (!opts.stale) this.stats.hits[e.kind]++;
      return e;
    }
    if (opts.stale && now < e.expiresAt + this.opts.staleSeconds * 1000) {
      this.stats.stale++;
      return e;
    }
    if (!opts.stale) this.stats.misses++;
    return undefined;
  }

  /** The fast path replayed an answer from this cache (dns/replay.ts): a hit like any other. */
  countReplay(rcode: number, answers: number): void {
    this.stats.hits[rcode === Rcode.NOERROR && answers > 0 ? 'success' : 'denial']++;
  }

  /** Stores a reply if the rules allow; returns the lifetime chosen in seconds, or undefined when not cached. */
  put(key: string, m: DecodedMessage): number | undefined {
    // --cache-ttl 0 is no cache at all (a Corefile without `cache`): negative answers and SERVFAIL included.
    if (m.flags & Flag.TC || this.opts.positiveTtl <= 0) return undefined;
    let kind: CacheEntry['kind'];
    let ttl: number;
    if (m.rcode === Rcode.SERVFAIL) {
      kind = 'servfail';
      ttl = this.opts.servfailTtl;
    } else if (m.rcode === Rcode.NXDOMAIN || (m.rcode === Rcode.NOERROR && m.answer.length === 0)) {
      const soa = m.authority.find((rr) => rr.type === RRType.SOA);
      if (!soa || !('soa' in soa)) return undefined; // RFC 2308 §5: no SOA, no negative caching
      kind = 'denial';
      ttl = Math.min(soa.ttl, soa.soa.minimum, this.opts.negativeTtl);
    } else if (m.rcode === Rcode.NOERROR) {
      kind = 'success';
      ttl = Math.min(this.opts.positiveTtl, ...m.answer.map((rr) => rr.ttl));
    } else {
      return undefined; // REFUSED, FORMERR, NOTIMP: the next query should ask again
    }
    // A CNAME chain that does not end in the asked type, with an SOA, is a NODATA to CoreDNS's cache (cacheResponseType).
    const asked = m.question ? { name: m.question.name.toLowerCase(), type: m.question.type } : undefined;
    if (kind === 'success' && cacheClass(m, asked) === 'denial') kind = 'denial';
    if ((kind === 'success' && this.opts.noSuccess) || (kind === 'denial' && this.opts.noDenial)) return undefined;
    let { answer, authority, additional } = m;
    if (this.opts.uniform) {
      ttl = uniformTtl(m, this.opts.uniform, asked);
      [answer, authority, additional] = [withTtl(answer, ttl), withTtl(authority, ttl), withTtl(additional, ttl)];
    }
    if (ttl <= 0) return undefined;
    const now = this.clock();
    const entry: CacheEntry = { rcode: m.rcode, flags: m.flags, answer, authority, additional, storedAt: now, expiresAt: now + ttl * 1000, kind };
    const keepMs = ttl * 1000 + (kind === 'servfail' ? 0 : this.opts.staleSeconds * 1000);
    this.lru.set(key, entry, { ttl: keepMs });
    this.stats.inserts++;
    return ttl;
  }

  /** Records with their TTLs counted down; owners equal to the question get the client's spelling back. */
  static view(e: CacheEntry, now: number, question: { name: string; lowerName: string }, staleTtl?: number): Pick<CacheEntry, 'answer' | 'authority' | 'additional'> {
    const elapsed = Math.floor((now - e.storedAt) / 1000);
    const adjust = (rr: RR): RR => {
      const ttl = staleTtl ?? Math.max(0, rr.ttl - elapsed);
      const name = rr.name.length === question.name.length && rr.name.toLowerCase() === question.lowerName ? question.name : rr.name;
      return ttl === rr.ttl && name === rr.name ? rr : { ...rr, ttl, name };
    };
    return { answer: e.answer.map(adjust), authority: e.authority.map(adjust), additional: e.additional.map(adjust) };
  }

  clear(): void {
    this.lru.clear();
  }
}
