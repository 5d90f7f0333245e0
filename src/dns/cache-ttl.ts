// The TTL rules of CoreDNS's `cache` plugin (plugin/cache/cache.go WriteMsg, pkg/dnsutil/ttl.go, v1.14.7), for
// --cache-cap-replies: every reply that passes the plugin, cached or not and cluster answers included, leaves
// with one TTL on every record — the reply's smallest, capped at the success or denial TTL and raised to the
// minimum (5 s by default). So under kubeadm's `cache 30` a `dns-version` TXT says 30, not 28800, and an
// ExternalName's outside target comes back with the cluster TTL. Pure: the forward cache and the handler
// wrapper (resolve/uniform-ttl.ts) share it.
import { Rcode, RRType } from './constants.js';
import type { RR } from './message.js';

export interface TtlCaps {
  /** Seconds: CoreDNS's success TTL, denial TTL, `servfail` duration and minimum TTL. */
  success: number;
  denial: number;
  servfail: number;
  min: number;
}

interface Sections {
  rcode: number;
  answer: readonly RR[];
  authority: readonly RR[];
  additional: readonly RR[];
}

export interface Asked {
  /** Lower-case. */
  name: string;
  type: number;
}

/** Whether the answer holds what was asked (cache.go answersQuestion, without following the chain by owner). */
function answers(answer: readonly RR[], q: Asked): boolean {
  if (q.type === RRType.ANY) return answer.some((rr) => rr.name.toLowerCase() === q.name);
  if (q.type === RRType.CNAME) return answer.some((rr) => rr.type === RRType.CNAME && rr.name.toLowerCase() === q.name);
  return answer.some((rr) => rr.type === q.type);
}

/**
 * CoreDNS's cacheResponseType (response.Typify, then a CNAME chain that does not end in the asked type, with an
 * SOA, counted as NODATA), as far as the TTL rules need it.
 */
export function cacheClass(m: Sections, q?: Asked): 'success' | 'denial' | 'servfail' | 'other' {
  if (m.answer.length > 0) {
    if (m.rcode !== Rcode.NOERROR) return 'other';
    const soa = m.authority.some((rr) => rr.type === RRType.SOA);
    return soa && q !== undefined && !answers(m.answer, q) ? 'denial' : 'success';
  }
  const soa = m.authority.some((rr) => rr.type === RRType.SOA);
  if (soa && m.rcode === Rcode.NOERROR) return 'denial';
  if (m.rcode === Rcode.NXDOMAIN) return 'denial';
  if (m.rcode === Rcode.SERVFAIL || m.rcode === Rcode.NOTIMP) return 'servfail';
  // A delegation (NS records, no SOA) gets the failsafe TTL like an error does.
  if (m.rcode === Rcode.NOERROR && !m.authority.some((rr) => rr.type === RRType.NS)) return 'success';
  return 'other';
}

/** MinimalDefaultTTL: CoreDNS's TTL for a reply without records, and for anything not an answer or a denial. */
const FAILSAFE = 5;

/** The one TTL CoreDNS's cache gives every record of `m`. */
export function uniformTtl(m: Sections, caps: TtlCaps, q?: Asked): number {
  const kind = cacheClass(m, q);
  if (kind === 'servfail') return caps.servfail;
  const max = kind === 'denial' ? caps.denial : caps.success;
  let smallest = max;
  const records = m.answer.length + m.authority.length + m.additional.length;
  if (kind === 'other' || records === 0) smallest = FAILSAFE;
  else for (const s of [m.answer, m.authority, m.additional]) for (const rr of s) if (rr.ttl < smallest) smallest = rr.ttl;
  return Math.min(Math.max(smallest, caps.min), max);
}

/** The records with `ttl` (copies; records from the index are shared and never changed). */
export const withTtl = (rrs: readonly RR[], ttl: number): RR[] => rrs.map((rr) => (rr.ttl === ttl ? rr : { ...rr, ttl }));
