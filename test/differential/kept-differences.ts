// Differences from CoreDNS kept on purpose. Each is listed in README.md and docs/dns-behaviour.md ("Differences
// from CoreDNS") with its reason, and matched here by rule — by what differs and why, never by query text.
import type { Difference } from './compare.js';
import type { Message } from './wire.js';

export interface KeptDifference {
  id: string;
  reason: string;
  matches(d: Difference): boolean;
}

const isMessage = (m: Message | string | undefined): m is Message => typeof m === 'object';

export const KEPT_DIFFERENCES: KeptDifference[] = [
  {
    id: 'udp-1232',
    reason:
      'over UDP cluster-dns never sends more than 1232 bytes whatever the client advertises (DNS Flag Day 2020: no IP fragmentation); ' +
      'CoreDNS sends up to the client\'s size. A larger answer comes with TC and the client retries over TCP',
    matches: ({ exchange: e, fields }) => {
      if (e.question.tcp || (e.question.edns?.size ?? 512) <= 1232 || !isMessage(e.ref) || !isMessage(e.ours)) return false;
      const onlySections = fields.every((f) => ['flags', 'answer', 'authority', 'additional'].includes(f.replace(/\.ttl$/, '')));
      const flagsBut = (m: Message): string => m.flags.filter((f) => f !== 'tc').join(' ');
      return onlySections && e.refBytes > 1232 && e.oursBytes <= 1232 && e.ours.flags.includes('tc') && flagsBut(e.ref) === flagsBut(e.ours);
    },
  },
];

const SECTIONS = ['answer', 'authority', 'additional'] as const;
const CLUSTER = /(^|\.)cluster\.local\.$/i;
/** A section with the records of outside names lower-cased (owner and names in RDATA), sorted. */
const outsideOwnersLowered = (lines: string[]): string[] =>
  lines.map((l) => (CLUSTER.test(l.split(' ')[0]!) ? l : l.toLowerCase())).sort();

KEPT_DIFFERENCES.push({
  id: 'cache-owner-case',
  reason:
    'an answer from the forward cache gives owners that are the question the client\'s own spelling back; CoreDNS\'s cache ' +
    'returns the spelling of whoever asked first, owners and names in RDATA (the question section, which 0x20 resolvers check, is the same in both)',
  matches: ({ exchange: e, fields }) => {
    if (!isMessage(e.ref) || !isMessage(e.ours)) return false;
    if (!fields.every((f) => (SECTIONS as readonly string[]).includes(f))) return false;
    const { ref, ours } = e;
    return SECTIONS.every((s) => outsideOwnersLowered(ref[s]).join('|') === outsideOwnersLowered(ours[s]).join('|'));
  },
});

KEPT_DIFFERENCES.push({
  id: 'tc-records',
  reason:
    'with TC set on both sides, which records the truncated reply still carries differs (CoreDNS\'s order comes from Go map ' +
    'iteration and loadbalance; its ExternalName chase keeps only the CNAME); a client ignores them and asks again over TCP (RFC 2181 §9)',
  matches: ({ exchange: e, fields }) =>
    isMessage(e.ref) && isMessage(e.ours) && e.ref.flags.includes('tc') && e.ours.flags.includes('tc') &&
    fields.every((f) => (SECTIONS as readonly string[]).includes(f.replace(/\.ttl$/, ''))),
});

export function keptBy(d: Difference): KeptDifference | undefined {
  return KEPT_DIFFERENCES.find((k) => k.matches(d));
}
