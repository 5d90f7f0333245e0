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
const SECTIONS = ['answer', 'authority', 'additional'] as const;
const CLUSTER = /(^|\.)cluster\.local\.$/i;
/** The zones the kubernetes plugin serves (the cluster zone and the reverse zones). */
const SERVED = /(^|\.)(cluster\.local|in-addr\.arpa|ip6\.arpa)\.$/i;
/** Only the sections differ (their records or TTLs): rcode, flags, question and OPT are the same. */
const onlySections = (fields: string[]): boolean => fields.every((f) => (SECTIONS as readonly string[]).includes(f.replace(/\.ttl$/, '')));

interface Line {
  owner: string;
  ttl: number;
  rest: string;
}
const parse = (l: string): Line => {
  const [owner, ttl, ...rest] = l.split(' ');
  return { owner: owner!, ttl: Number(ttl), rest: rest[1] === 'SOA' ? [...rest.slice(0, 4), ...rest.slice(5)].join(' ') : rest.join(' ') };
};

/**
 * The sections are the same once the records `lower` selects are lower-cased (owner and RDATA names), with TTLs
 * as `ttlOk` allows.
 */
function sameRecords(ref: Message, ours: Message, lower: (owner: string) => boolean, ttlOk: (ref: number, ours: number, owner: string) => boolean): boolean {
  const norm = (lines: string[]): Line[] =>
    lines
      .map(parse)
      .map((r) => (lower(r.owner) ? { owner: r.owner.toLowerCase(), ttl: r.ttl, rest: r.rest.toLowerCase() } : r))
      .sort((a, b) => (`${a.owner} ${a.rest}` < `${b.owner} ${b.rest}` ? -1 : 1));
  return SECTIONS.every((s) => {
    const a = norm(ref[s]);
    const b = norm(ours[s]);
    return a.length === b.length && a.every((r, i) => r.owner === b[i]!.owner && r.rest === b[i]!.rest && ttlOk(r.ttl, b[i]!.ttl, r.owner));
  });
}
const outsideWithin1s = (a: number, b: number, owner: string): boolean => (CLUSTER.test(owner) ? a === b : Math.abs(a - b) <= 1);

export const KEPT_DIFFERENCES: KeptDifference[] = [
  {
    id: 'udp-1232',
    reason:
      'over UDP cluster-dns never sends more than 1232 bytes whatever the client advertises (DNS Flag Day 2020: no IP fragmentation); ' +
      'CoreDNS sends up to the client\'s size. A larger answer comes with TC and the client retries over TCP',
    matches: ({ exchange: e, fields }) => {
      if (e.question.tcp || (e.question.edns?.size ?? 512) <= 1232 || !isMessage(e.ref) || !isMessage(e.ours)) return false;
      const onlyTc = fields.every((f) => ['flags', 'answer', 'authority', 'additional'].includes(f.replace(/\.ttl$/, '')));
      const flagsBut = (m: Message): string => m.flags.filter((f) => f !== 'tc').join(' ');
      return onlyTc && e.refBytes > 1232 && e.oursBytes <= 1232 && e.ours.flags.includes('tc') && flagsBut(e.ref) === flagsBut(e.ours);
    },
  },
  {
    id: 'tc-records',
    reason:
      'with TC set on both sides, which records the truncated reply still carries differs (CoreDNS\'s order comes from Go map ' +
      'iteration and loadbalance; its ExternalName chase keeps only the CNAME); a client ignores them and asks again over TCP (RFC 2181 §9)',
    matches: ({ exchange: e, fields }) => isMessage(e.ref) && isMessage(e.ours) && e.ref.flags.includes('tc') && e.ours.flags.includes('tc') && onlySections(fields),
  },
  {
    id: 'cache-owner-case',
    reason:
      'an answer from the forward cache gives owners that are the question the client\'s own spelling back; CoreDNS\'s cache ' +
      'returns the spelling of whoever asked first, owners and names in RDATA (the question section, which 0x20 resolvers check, is the same in both)',
    matches: ({ exchange: e, fields }) =>
      isMessage(e.ref) && isMessage(e.ours) && onlySections(fields) && sameRecords(e.ref, e.ours, (owner) => !CLUSTER.test(owner), outsideWithin1s),
  },
  {
    id: 'cluster-not-cached',
    reason:
      'cluster answers are never cached: a second ask is answered from the live index, spelled as asked, with the full TTL; ' +
      'CoreDNS\'s cache (which holds cluster answers too) repeats the first asker\'s answer with the TTL counted down: its spelling, ' +
      'and its rcode where the spelling decided it (ns.dns.<zone> is special only with the zone in lower case)',
    matches: ({ exchange: e, fields }) => {
      if (!e.repeat || !e.cache || !isMessage(e.ref) || !isMessage(e.ours) || !SERVED.test(e.ref.question[0]?.split(' ')[0] ?? '')) return false;
      if (!onlySections(fields.filter((f) => f !== 'rcode'))) return false;
      const elapsed = Math.ceil(e.repeat.afterMs / 1000) + 1;
      return sameRecords(e.ref, e.ours, () => true, (a, b) => Math.abs(a - b) <= 1 || (b >= a && b - a <= elapsed));
    },
  },
  {
    id: 'cache-eviction',
    reason:
      'CoreDNS\'s cache is 256 shards of capacity/256 entries each, so it evicts at random long before it is full; cluster-dns\'s ' +
      'one LRU keeps every entry up to --cache-size. A second ask CoreDNS answers afresh is a cache hit here: the same records, ' +
      'the TTL counted down, the client\'s CD bit (a fresh relay has the upstream\'s)',
    matches: ({ exchange: e, fields }) => {
      if (!e.repeat || !e.cache || !isMessage(e.ref) || !isMessage(e.ours)) return false;
      const withoutCd = (m: Message): string => m.flags.filter((f) => f !== 'cd').join(' ');
      const cdOnly = withoutCd(e.ref) === withoutCd(e.ours) && e.ours.flags.includes('cd') === e.question.cd;
      if (!onlySections(fields.filter((f) => f !== 'flags')) || (fields.includes('flags') && !cdOnly)) return false;
      const elapsed = Math.ceil(e.repeat.afterMs / 1000) + 1;
      return sameRecords(e.ref, e.ours, (owner) => !CLUSTER.test(owner), (a, b, owner) => (CLUSTER.test(owner) ? a === b : b <= a && a - b <= elapsed));
    },
  },
];

export function keptBy(d: Difference): KeptDifference | undefined {
  return KEPT_DIFFERENCES.find((k) => k.matches(d));
}
