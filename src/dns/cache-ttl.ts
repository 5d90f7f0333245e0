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

/** CoreDNS's response.Typify, as far as the TTL rules need it. */
export function cacheClass(m: Sections): 'success' | 'denial' | 'servfail' | 'other' {
  if (m.answer.length > 0) return m.rcode === Rcode.NOERROR ? 'success' : 'other';
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
export function uniformTtl(m: Sections, caps: TtlCaps): number {
  const kind = cacheClass(m);
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
