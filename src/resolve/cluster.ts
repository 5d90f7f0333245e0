// The authoritative handler for the cluster zones and the reverse zones. It mirrors the decisions of
// CoreDNS's kubernetes plugin (handler.go + backend_lookup.go) over the precomputed index, read through the
// narrow ClusterRecords interface: each query type asks whether the name exists and what it holds, then
// answers, NODATA or NXDOMAIN, with the zone's SOA in every negative answer. Before the first full sync NXDOMAIN
// becomes SERVFAIL. Over 300 lines on purpose: the whole per-type decision table of CoreDNS in one file, so the
// NXDOMAIN-vs-NODATA rules can be read (and compared with handler.go) in one place.
import type { Config } from '../config/options.js';
import { EdeCode, Flag, Rcode, RRType } from '../dns/constants.js';
import type { Query, Reply, RR } from '../dns/message.js';
import { type Filter, type NameNode, answersOf, srvWeight } from '../records/build.js';
import { addressFromReverse, parseIP } from '../net/ip.js';
import { addressRR, cnameRR, nsRR, ptrRR, srvRR, txtRR, zoneSoa } from '../records/rr.js';
import { type Handler, type HandlerResult, PASS } from './handler.js';
import { type ParsedName, parseName, podLabelToIP } from './names.js';

/** --pods, as the options table spells it. */
export type PodMode = Config['pods'];

/** Looks a name up outside the cluster zones (the forwarder); undefined when it cannot be asked. */
/** `bits`: the client's DO and CD, which CoreDNS's chase passes on (so it fills the same cache entry a direct query would). */
export type ExternalLookup = (name: string, type: number, bits: { dnssecOk: boolean; checkingDisabled: boolean }) => Promise<{ answer: RR[]; truncated: boolean } | undefined>;

export interface ClusterHandlerOptions {
  /** Cluster zones, lower-case, first = primary (PTR targets). */
  zones: string[];
  ttl: number;
  pods: PodMode;
  /** Addresses this server is reachable at (non-loopback), for NS and ns.dns.<zone>. */
  localIPs: string[];
  synced: () => boolean;
  /** Zones whose NXDOMAIN answers go to the next handler instead (CoreDNS `fallthrough`). */
  fallthrough: string[];
  external?: ExternalLookup;
}

/**
 * What the handler reads of the cluster (CoreDNS's dnsController): lookups only. records/zone-index.ts answers
 * it in the server; tests give it a small fixed cluster (test/helpers/fake-cluster.ts).
 */
export interface ClusterRecords {
  /** SOA serial: seconds of the last change DNS can see. */
  readonly serial: number;
  lookup(name: string): NameNode | undefined;
  /** A `_`-labelled port or protocol: any port name / protocol matches. */
  lookupWildcardPort(serviceName: string, namespace: string, f: Filter): NameNode | undefined;
  namespaceExists(name: string): boolean;
  /** Live pods of `namespace` whose primary IP is `ip` (for `--pods verified`). */
  podCount(namespace: string, ip: string): number;
  /** PTR targets of an address, relative to the primary zone. */
  reverse(ip: string): string[];
  /** The Services whose endpoints carry `ip` (for NS): relative names and their addresses. */
  servicesServedBy(ip: string): Array<{ name: string; addresses: string[] }>;
}

export const DNS_SCHEMA_VERSION = '1.1.0';
const SCHEMA_TTL = 28800;
const MAX_CNAME_CHAIN = 10;
const REVERSE_ZONES = ['in-addr.arpa', 'ip6.arpa'];

/** What CoreDNS's `Records` yields for a name: not there, there but empty, or there with data. */
/** `pods` is how many pods hold the address (1 unless `--pods verified` finds several): CoreDNS's SRV weight shares. */
type Found = { kind: 'nx' } | { kind: 'empty' } | { kind: 'node'; node: NameNode } | { kind: 'pod'; ip: string; name: string; pods: number };
const NX: Found = { kind: 'nx' };
const EMPTY: Found = { kind: 'empty' };

interface Ctx {
  query: Query;
  zone: string; // matched zone, lower-case
  zoneAsQueried: string; // the zone in the client's spelling
  base: string; // lower-case name without the zone
}

export class ClusterHandler {
  private readonly allZones: string[];

  constructor(
    private readonly index: ClusterRecords,
    private readonly opts: ClusterHandlerOptions,
  ) {
    // Longest suffix wins, so a configured `10.in-addr.arpa` beats `in-addr.arpa`.
    this.allZones = [...new Set([...opts.zones, ...REVERSE_ZONES])].sort((a, b) => b.length - a.length);
  }

  readonly handle: Handler = (query) => {
    const lower = query.lowerName;
    const zone = this.allZones.find((z) => lower === z || lower.endsWith(`.${z}`));
    if (zone === undefined) return PASS;
    const ctx: Ctx = {
      query,
      zone,
      zoneAsQueried: query.name.substring(query.name.length - zone.length),
      base: lower === zone ? '' : lower.substring(0, lower.length - zone.length - 1),
    };
    const result = this.answer(ctx);
    return result instanceof Promise ? result.then((r) => this.finish(ctx, r)) : this.finish(ctx, result);
  };

  /** Records or a negative outcome; `'refused'` for zone transfers. */
  private answer(ctx: Ctx): Outcome | Promise<Outcome> {
    const { base } = ctx;
    switch (ctx.query.type) {
      case RRType.A:
      case RRType.AAAA:
        return this.address(ctx, ctx.query.name, base, ctx.query.type === RRType.A ? 4 : 6, 0);
      case RRType.TXT:
        if (base === 'dns-version') return { answer: [txtRR(ctx.query.name, SCHEMA_TTL, [DNS_SCHEMA_VERSION])] };
        // CoreDNS: NODATA when the name holds records of another type, else NXDOMAIN (even for the apex).
        return hasData(this.records(ctx, base)) ? NODATA : NXDOMAIN;
      case RRType.CNAME:
        return this.cname(ctx);
      case RRType.PTR:
        return this.ptr(ctx);
      case RRType.SRV:
        return this.srv(ctx);
      case RRType.MX:
        return this.services(ctx).kind === 'nx' ? NXDOMAIN : NODATA;
      case RRType.SOA:
        return base === '' ? { answer: [this.soa(ctx)] } : NODATA;
      case RRType.AXFR:
      case RRType.IXFR:
        return REFUSED;
      case RRType.NS:
        // CoreDNS compares the lower-cased name with the zone as spelled: `Cluster.Local NS` is not the apex.
        if (base === '' && ctx.zoneAsQueried === ctx.zone) return this.ns(ctx);
        return this.exists(ctx) ? NODATA : NXDOMAIN;
      default:
        return this.exists(ctx) ? NODATA : NXDOMAIN;
    }
  }

  private finish(ctx: Ctx, outcome: Outcome): HandlerResult {
    if (outcome === REFUSED) return { rcode: Rcode.REFUSED, authoritative: false, answer: [], authority: [], additional: [], source: 'cluster' };
    if (outcome === NXDOMAIN) {
      if (this.opts.fallthrough.some((z) => ctx.zone === z || ctx.zone.endsWith(`.${z}`))) return PASS;
      if (!this.opts.synced()) {
        const reply = this.negative(ctx, Rcode.SERVFAIL);
        if (ctx.query.edns) reply.ede = { code: EdeCode.NOT_READY, text: 'cluster state not yet synced' };
        return reply;
      }
      return this.negative(ctx, Rcode.NXDOMAIN);
    }
    if (outcome === NODATA || outcome.answer.length === 0) return this.negative(ctx, Rcode.NOERROR);
    return {
      rcode: Rcode.NOERROR,
      authoritative: true,
      truncated: outcome.truncated,
      answer: outcome.answer,
      authority: [],
      additional: outcome.additional ?? [],
      source: 'cluster',
    };
  }

  private negative(ctx: Ctx, rcode: number): Reply {
    return { rcode, authoritative: true, answer: [], authority: [this.soa(ctx)], additional: [], source: 'cluster' };
  }

  soa(ctx: { zoneAsQueried: string }): RR {
    return zoneSoa(ctx.zoneAsQueried, this.opts.ttl, this.index.serial);
  }

  /** CoreDNS `Records`: the name grammar, the namespace check, then the index. */
  private records(ctx: Ctx, base: string): Found {
    const parsed = parseName(base);
    if (parsed.kind === 'invalid') return NX;
    if (parsed.kind === 'empty') return EMPTY;
    if (isReverse(ctx.zone)) return NX; // reverse names never hold services
    if (!this.index.namespaceExists(parsed.namespace)) return NX;
    if (parsed.kind === 'pod') return this.pod(parsed);
    if (parsed.service === undefined) return EMPTY;
    let node: NameNode | undefined;
    if (parsed.port === '' || parsed.protocol === '') {
      node = this.index.lookupWildcardPort(parsed.service, parsed.namespace, { port: parsed.port, protocol: parsed.protocol });
    } else if (parsed.port !== undefined) {
      node = this.index.lookup(`${parsed.port}.${parsed.protocol}.${parsed.service}.${parsed.namespace}.svc`);
    } else if (parsed.endpoint !== undefined) {
      node = this.index.lookup(`${parsed.endpoint}.${parsed.service}.${parsed.namespace}.svc`);
    } else {
      node = this.index.lookup(`${parsed.service}.${parsed.namespace}.svc`);
    }
    // ExternalName services answer only their bare name.
    if (node?.cname !== undefined && (parsed.endpoint !== undefined || parsed.port !== undefined)) return NX;
    return node ? { kind: 'node', node } : NX;
  }

  private pod(p: Exclude<ParsedName, { kind: 'empty' } | { kind: 'invalid' }>): Found {
    if (this.opts.pods === 'disabled') return NX;
    if (p.service === undefined) return EMPTY;
    const ip = parseIP(podLabelToIP(p.service));
    if (!ip) return NX;
    const pods = this.opts.pods === 'verified' ? this.index.podCount(p.namespace, ip.text) : 1;
    if (pods === 0) return NX;
    return { kind: 'pod', ip: ip.text, name: `${p.service}.${p.namespace}.pod`, pods };
  }

  /**
   * CoreDNS `isDefaultNS`: `ns.dns.<zone>` is special only with the zone spelled lower-case (it compares the
   * lower-cased name with the zone as asked), else it is an ordinary name that does not exist.
   */
  private isDefaultNS(ctx: Ctx): boolean {
    return ctx.base === 'ns.dns' && ctx.zoneAsQueried === ctx.zone;
  }

  /** CoreDNS `Services` for types other than TXT: `ns.dns.<zone>` is special, the rest is `records`. */
  private services(ctx: Ctx): Found {
    if (this.isDefaultNS(ctx)) return EMPTY;
    return this.records(ctx, ctx.base);
  }

  /** The "fake A lookup" CoreDNS uses to tell NODATA from NXDOMAIN for the other types. */
  private exists(ctx: Ctx): boolean {
    return ctx.base === '' || this.services(ctx).kind !== 'nx';
  }

  /** `owner` is the name as asked: the query name as spelled, or a CNAME target as the Service wrote it. */
  private address(ctx: Ctx, owner: string, base: string, family: 4 | 6, depth: number): Outcome | Promise<Outcome> {
    if (base === '') return NODATA; // the apex holds no addresses
    if (base === 'ns.dns' && ctx.zoneAsQueried === ctx.zone) return { answer: this.nsAddresses(ctx).filter((a) => a.family === family).map((a) => addressRR(owner, this.opts.ttl, a.address)) };
    const found = this.records(ctx, base);
    switch (found.kind) {
      case 'nx':
        return NXDOMAIN;
      case 'empty':
        return NODATA;
      case 'pod':
        return parseIP(found.ip)!.family === family ? { answer: [addressRR(owner, this.opts.ttl, found.ip)] } : NODATA;
      case 'node': {
        const { node } = found;
        if (node.cname === undefined) {
          const answers = answersOf(node);
          return { answer: (family === 4 ? answers.a : answers.aaaa).map((ip) => addressRR(owner, this.opts.ttl, ip)) };
        }
        return this.chase(ctx, owner, node.cname, family, depth);
      }
    }
  }

  /** ExternalName: the CNAME, then the target's addresses (in-zone: from the index; else from the forwarder). */
  private chase(ctx: Ctx, owner: string, target: string, family: 4 | 6, depth: number): Outcome | Promise<Outcome> {
    if (target === owner.toLowerCase() || depth >= MAX_CNAME_CHAIN) return NODATA;
    const cname = cnameRR(owner, this.opts.ttl, target);
    if (target === ctx.zone || target.endsWith(`.${ctx.zone}`)) {
      const next = this.address(ctx, target, target === ctx.zone ? '' : target.substring(0, target.length - ctx.zone.length - 1), family, depth + 1);
      const join = (o: Outcome): Outcome => (o === NODATA || o === NXDOMAIN || o === REFUSED || o.answer.length === 0 ? NODATA : { answer: [cname, ...o.answer], truncated: o.truncated });
      return next instanceof Promise ? next.then(join) : join(next);
    }
    const external = this.opts.external;
    if (!external) return { answer: [cname] };
    const bits = { dnssecOk: ctx.query.edns?.dnssecOk ?? false, checkingDisabled: (ctx.query.flags & Flag.CD) !== 0 };
    return external(target, family === 4 ? RRType.A : RRType.AAAA, bits).then((r) =>
      r ? { answer: [cname, ...r.answer], truncated: r.truncated } : NODATA,
    );
  }

  private cname(ctx: Ctx): Outcome {
    const found = this.services(ctx);
    if (found.kind === 'nx') return NXDOMAIN;
    if (found.kind === 'node' && found.node.cname !== undefined) return { answer: [cnameRR(ctx.query.name, this.opts.ttl, found.node.cname)] };
    return NODATA;
  }

  private ptr(ctx: Ctx): Outcome {
    const lower = ctx.query.lowerName;
    const family = lower.endsWith('.in-addr.arpa') ? 4 : lower.endsWith('.ip6.arpa') ? 6 : 0;
    const ip = family ? addressFromReverse(lower.substring(0, lower.lastIndexOf(family === 4 ? '.in-addr.arpa' : '.ip6.arpa')), family) : undefined;
    if (ip !== undefined) {
      const targets = this.index.reverse(ip);
      if (targets.length === 0) return NXDOMAIN;
      const primary = this.opts.zones[0]!;
      return { answer: targets.map((t) => ptrRR(ctx.query.name, this.opts.ttl, `${t}.${primary}`)) };
    }
    // A forward name: only whether it exists matters (CoreDNS's Reverse discards the records it finds).
    return this.records(ctx, ctx.base).kind === 'nx' ? NXDOMAIN : NODATA;
  }

  private srv(ctx: Ctx): Outcome {
    const found = this.services(ctx);
    const ttl = this.opts.ttl;
    const owner = ctx.query.name;
    switch (found.kind) {
      case 'nx':
        return NXDOMAIN;
      case 'empty':
        return NODATA;
      case 'pod': {
        // CoreDNS builds an SRV with port 0 for a pod name, the target being the pod's own name from its key
        // (`<dashed-ip>.<ns>.pod`, lower-case, and the zone as asked): labels in front of the dashed IP are not part of it.
        // Several pods sharing the IP (host-network pods of one node) are one record each to CoreDNS, folded into one
        // SRV whose weight is still its share of them all.
        const target = `${found.name}.${ctx.zoneAsQueried}`;
        return { answer: [srvRR(owner, ttl, { priority: 0, weight: srvWeight(found.pods), port: 0, target })], additional: [addressRR(target, ttl, found.ip)] };
      }
      case 'node': {
        const z = ctx.zoneAsQueried;
        const answers = answersOf(found.node);
        return {
          answer: answers.srv.map((s) => srvRR(owner, ttl, { priority: 0, weight: s.weight, port: s.port, target: `${s.target}.${z}` })),
          additional: answers.srvExtra.map((e) => addressRR(`${e.name}.${z}`, ttl, e.address)),
        };
      }
    }
  }

  private ns(ctx: Ctx): Outcome {
    const ttl = this.opts.ttl;
    const answer: RR[] = [];
    const additional: RR[] = [];
    const seen = new Set<string>();
    for (const a of this.nsAddresses(ctx)) {
      additional.push(addressRR(a.name, ttl, a.address));
      if (seen.has(a.name)) continue;
      seen.add(a.name);
      answer.push(nsRR(ctx.query.name, ttl, a.name));
    }
    return { answer, additional };
  }

  /**
   * The names and addresses this server answers as: the Services whose endpoints carry one of our addresses
   * (kube-dns.kube-system.svc in a cluster), else `ns.dns.<zone>` with the addresses themselves.
   */
  private nsAddresses(ctx: Ctx): Array<{ name: string; address: string; family: 4 | 6 }> {
    const out: Array<{ name: string; address: string; family: 4 | 6 }> = [];
    for (const local of this.opts.localIPs) {
      for (const found of this.index.servicesServedBy(local)) {
        const name = `${found.name}.${ctx.zoneAsQueried}`;
        for (const address of found.addresses) out.push({ name, address, family: parseIP(address)!.family });
      }
    }
    if (out.length > 0) return out;
    return this.opts.localIPs.map((address) => ({ name: `ns.dns.${ctx.zoneAsQueried}`, address, family: parseIP(address)!.family }));
  }
}

interface Answered {
  answer: RR[];
  additional?: RR[];
  truncated?: boolean;
}
const NODATA = Symbol('nodata');
const NXDOMAIN = Symbol('nxdomain');
const REFUSED = Symbol('refused');
type Outcome = Answered | typeof NODATA | typeof NXDOMAIN | typeof REFUSED;

function isReverse(zone: string): boolean {
  return REVERSE_ZONES.some((z) => zone === z || zone.endsWith(`.${z}`));
}

const hasData = (f: Found): boolean => f.kind === 'node' || f.kind === 'pod';
