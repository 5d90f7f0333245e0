// The questions of one round: every name form the generated state allows (services, ports, endpoints, pods,
// reverse names of known and unknown addresses, partial reverse zones, outside names), a share of them mutated
// (random case, a label added or missing, another namespace, a search-path miss, the wrong protocol), each with a
// random type, RD/CD, EDNS size and DO, over UDP or TCP.
import { OUTSIDE_NAMES } from './upstream.js';
import type { Question } from './wire.js';
import type { Service, State } from './cluster-state.js';

const Z = 'cluster.local';
type Random = () => number;
const pick = <T>(random: Random, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

/** Types with weights: address and SRV lookups are what pods ask most. 65280 is a private-use type nobody serves. */
const TYPES = [1, 1, 1, 28, 28, 33, 33, 5, 12, 16, 2, 6, 15, 255, 65, 257, 65280];
const EDNS = [undefined, undefined, 512, 1232, 1232, 4096] as const;

const reverse4 = (ip: string): string => `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
function reverse6(ip: string): string {
  const [head, tail = ''] = ip.split('::');
  const groups = (s: string): string[] => (s ? s.split(':') : []);
  const h = groups(head!);
  const t = groups(tail);
  const full = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => g.padStart(4, '0')).join('');
  return `${[...full].reverse().join('.')}.ip6.arpa`;
}
const reverse = (ip: string): string => (ip.includes(':') ? reverse6(ip) : reverse4(ip));
const dashed = (ip: string): string => ip.replace(/[.:]/g, '-');

function serviceNames(s: Service): string[] {
  const base = `${s.name}.${s.ns}.svc.${Z}`;
  const out = [base];
  for (const p of s.ports) {
    if (!p.name) continue;
    const proto = p.protocol.toLowerCase();
    out.push(`_${p.name}._${proto}.${base}`, `${p.name}.${proto}.${base}`, `_${p.name}._${proto === 'tcp' ? 'udp' : 'tcp'}.${base}`, `_${p.name}._sctp.${base}`);
  }
  for (const sl of s.slices) {
    for (const p of sl.ports) if (p.name) out.push(`_${p.name}._${p.protocol.toLowerCase()}.${base}`);
    for (const e of sl.endpoints.slice(0, 4)) {
      out.push(`${e.hostname ?? dashed(e.addresses[0]!)}.${base}`, `${dashed(e.addresses[0]!)}.${base}`, reverse(e.addresses[0]!), `${dashed(e.addresses[0]!)}.${s.ns}.pod.${Z}`);
    }
  }
  if (s.clusterIP) out.push(reverse(s.clusterIP), `${dashed(s.clusterIP)}.${s.ns}.pod.${Z}`);
  return out;
}

/** Every name the state allows, and the fixed ones (apex, reverse zones, outside names). */
export function nameForms(state: State): string[] {
  const names = [
    Z, `svc.${Z}`, `pod.${Z}`, `dns-version.${Z}`, `ns.dns.${Z}`, `missing.svc.${Z}`, `x.${Z}`,
    'in-addr.arpa', 'ip6.arpa', '10.in-addr.arpa', '244.10.in-addr.arpa', '1.244.10.in-addr.arpa', '0.0.0.0.ip6.arpa', '0.d.f.ip6.arpa',
    reverse('10.244.250.250'), reverse('192.168.77.1'), reverse('fd00:10:244::fff'), reverse('2001:db8::99'),
    ...OUTSIDE_NAMES,
  ];
  for (const ns of state.namespaces) names.push(`${ns}.svc.${Z}`, `${ns}.pod.${Z}`, `www.example.test.${ns}.svc.${Z}`, `10-244-250-1.${ns}.pod.${Z}`, `fd00-10-244--1.${ns}.pod.${Z}`);
  for (const p of state.pods) names.push(`${dashed(p.ip)}.${p.ns}.pod.${Z}`, reverse(p.ip));
  for (const s of state.services) names.push(...serviceNames(s));
  names.push(`www.example.test.svc.${Z}`, `www.example.test.${Z}`);
  return names;
}

function randomCase(random: Random, name: string): string {
  return [...name].map((c) => (random() < 0.5 ? c.toUpperCase() : c)).join('');
}

function mutate(random: Random, name: string, state: State): string {
  const labels = name.split('.');
  switch (Math.floor(random() * 5)) {
    case 0:
      return randomCase(random, name);
    case 1:
      return `${pick(random, ['x', 'www', '_tcp', 'h0', '10-244-1-1'])}.${name}`;
    case 2:
      return labels.length > 2 ? labels.slice(1).join('.') : name;
    case 3: {
      const ns = labels.findIndex((l) => state.namespaces.includes(l));
      if (ns < 0) return randomCase(random, name);
      labels[ns] = pick(random, [...state.namespaces, 'default', 'nowhere']);
      return labels.join('.');
    }
    default:
      return labels.length > 3 ? [...labels.slice(0, 2), ...labels.slice(3)].join('.') : `${name}.${pick(random, [Z, `svc.${Z}`])}`;
  }
}

/** Where an ExternalName chain starting at `lowerName` leaves the cluster zone, if it does. */
function outsideTarget(state: State, lowerName: string): string | undefined {
  const external = new Map(state.services.filter((s) => s.kind === 'external').map((s) => [`${s.name}.${s.ns}.svc.${Z}`, s.externalName!.toLowerCase()]));
  let name = lowerName;
  for (let hops = 0; hops < 8; hops++) {
    const next = external.get(name);
    if (next === undefined) return hops > 0 && !name.endsWith(`.${Z}`) ? name : undefined;
    name = next;
  }
  return undefined;
}

/**
 * The cache keys a question fills besides its own: CoreDNS chases an ExternalName's outside target through its
 * cache (with A and AAAA, and with A for its "fake A lookup" of other types), with the client's DO and CD.
 */
function chasedKeys(state: State, q: Question): string[] {
  const target = outsideTarget(state, q.name.toLowerCase());
  if (target === undefined) return [];
  return [...new Set([1, 28, q.type])].map((t) => `${target} ${t} ${q.edns?.do === true} ${q.cd}`);
}

/**
 * Up to `count` questions. CoreDNS's cache keys on (lower-cased name, type, DO, CD), so each key is asked once per
 * round: a second ask would be CoreDNS's cached copy, counted down, which cluster-dns never serves for cluster
 * names (see the suite's kept differences).
 */
export function questions(random: Random, state: State, count: number): Question[] {
  const forms = nameForms(state);
  const seen = new Set<string>();
  const out: Question[] = [];
  for (let tries = 0; out.length < count && tries < count * 4; tries++) {
    let name = pick(random, forms);
    if (random() < 0.35) name = mutate(random, name, state);
    if (random() < 0.15) name = randomCase(random, name);
    const type = pick(random, TYPES);
    const size = pick(random, EDNS);
    const q: Question = {
      name, type, id: Math.floor(random() * 65536), rd: random() < 0.85, cd: random() < 0.2,
      ...(size !== undefined ? { edns: { size, do: random() < 0.3 } } : {}), tcp: random() < 0.3,
    };
    // A key is asked once, directly or through an ExternalName chase: two questions on one key race for it (the
    // second is a cache hit or a fresh relay depending on which server finished the first, and when).
    const keys = [`${name.toLowerCase()} ${type} ${q.edns?.do === true} ${q.cd}`, ...chasedKeys(state, q)];
    if (keys.some((k) => seen.has(k))) continue;
    for (const k of keys) seen.add(k);
    out.push(q);
  }
  return out;
}

/**
 * Second asks of a share of the round's keys, once the first answers are in: the same cache key (name up to case,
 * type, DO, CD) asked with another spelling, ID, RD, EDNS size and transport, so CoreDNS answers from its cache and
 * the comparison covers cache hits too (TTLs counted down, AA, the client's flags).
 */
export function repeats(random: Random, asked: Question[], share: number): Question[] {
  return asked
    .filter(() => random() < share)
    .map((q) => {
      const size = pick(random, [512, 1232, 4096]);
      const edns = q.edns ? { size, do: q.edns.do } : random() < 0.5 ? { size, do: false } : undefined;
      return { ...q, name: randomCase(random, q.name), id: Math.floor(random() * 65536), rd: random() < 0.85, ...(edns ? { edns } : { edns: undefined }), tcp: random() < 0.3 };
    });
}

