// Forwarding for names outside the cluster zones (CoreDNS `forward` + `cache`): the cache first, then one
// upstream query per distinct question in flight (identical misses wait for it), upstreams tried in policy
// order with a per-try timeout, failing over at once on port-unreachable, and a cap on queries in flight.
import { systemClock } from '../base/clock.js';
import type { Config } from '../config/options.js';
import { EdeCode, Flag, Rcode } from '../dns/constants.js';
import type { DecodedMessage } from '../dns/decode-message.js';
import type { Query, Reply, ReplySource, RR } from '../dns/message.js';
import type { Logger } from '../base/log.js';
import { type Handler, emptyReply } from '../resolve/handler.js';
import { type CacheEntry, ResponseCache, cacheKey } from './cache.js';
import type { LoopDetector } from './loop.js';
import { Upstream, UpstreamError, type UpstreamOptions } from './upstream.js';
import type { StubDomain, UpstreamAddress } from '../net/address.js';

/** --policy, as the options table spells it. */
export type Policy = Config['policy'];

export interface ForwarderOptions extends UpstreamOptions {
  policy: Policy;
  /** Per-try timeout (CoreDNS: 2 s). */
  tryTimeoutMs: number;
  /** Whole-query budget across tries. */
  queryTimeoutMs: number;
  maxConcurrent: number;
  /** Told of every upstream reply (coredns_proxy_request_duration_seconds); observation stays outside. */
  onExchange?: (upstream: string, rcode: number, seconds: number) => void;
  /** Pass a fresh reply's EDNS options on (CoreDNS's forward without a cache in front); off with --cache-cap-replies. */
  relayOptions?: boolean;
}

export interface ForwardStats {
  forwarded: number;
  maxConcurrentRejects: number;
  servfails: number;
  coalesced: number;
  /** Queries that found every upstream down (CoreDNS's healthcheck_broken). */
  allDown: number;
}

/** What one upstream round (every upstream tried in order) came to. */
type Fetched = { entry: CacheEntry } | { failure: string; loop?: boolean };

export interface ForwardQuestion {
  name: string;
  lowerName: string;
  type: number;
  qclass: number;
  dnssecOk: boolean;
  checkingDisabled: boolean;
  recursionDesired: boolean;
}

/** One set of upstreams (the default, or a stub domain's). */
export class UpstreamGroup {
  readonly upstreams: Upstream[];
  private rr = 0;

  constructor(
    addresses: UpstreamAddress[],
    private readonly opts: ForwarderOptions,
  ) {
    this.upstreams = addresses.map((a) => new Upstream(a, opts));
  }

  /** Upstreams to try, in policy order, healthy first. */
  order(): Upstream[] {
    const list = this.upstreams.filter((u) => u.usable);
    if (this.opts.policy === 'random') {
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [list[i], list[j]] = [list[j]!, list[i]!];
      }
    } else if (this.opts.policy === 'round_robin' && list.length) {
      const start = this.rr++ % list.length;
      return [...list.slice(start), ...list.slice(0, start)];
    }
    return list;
  }

  close(): void {
    for (const u of this.upstreams) u.close();
  }
}

export class Forwarder {
  readonly stats: ForwardStats = { forwarded: 0, maxConcurrentRejects: 0, servfails: 0, coalesced: 0, allDown: 0 };
  private readonly inflight = new Map<string, Promise<Fetched>>();
  private active = 0;
  private readonly clock: () => number;
  readonly defaultGroup: UpstreamGroup;
  private readonly stubs: Array<{ domain: string; group: UpstreamGroup }>;

  constructor(
    upstreams: UpstreamAddress[],
    stubDomains: StubDomain[],
    private readonly opts: ForwarderOptions,
    readonly cache: ResponseCache,
    private readonly log: Logger,
    private readonly loop?: LoopDetector,
  ) {
    const clock = opts.clock ?? systemClock;
    this.clock = () => clock.now();
    this.defaultGroup = new UpstreamGroup(upstreams, opts);
    // Longest domain first, so `a.example.corp` beats `example.corp`.
    this.stubs = stubDomains.map((s) => ({ domain: s.domain, group: new UpstreamGroup(s.upstreams, opts) })).sort((a, b) => b.domain.length - a.domain.length);
  }

  groups(): UpstreamGroup[] {
    return [this.defaultGroup, ...this.stubs.map((s) => s.group)];
  }

  private groupFor(lowerName: string): UpstreamGroup {
    for (const s of this.stubs) if (lowerName === s.domain || lowerName.endsWith(`.${s.domain}`)) return s.group;
    return this.defaultGroup;
  }

  /** The handler for the server's chain: everything that reaches it is forwarded. */
  readonly handle: Handler = (query: Query) =>
    this.answer({
      name: query.name,
      lowerName: query.lowerName,
      type: query.type,
      qclass: query.qclass,
      dnssecOk: query.edns?.dnssecOk ?? false,
      checkingDisabled: (query.flags & Flag.CD) !== 0,
      recursionDesired: (query.flags & Flag.RD) !== 0,
    });

  /** Looks a name up for the cluster handler's ExternalName chasing: the answer section, or undefined. */
  async lookup(name: string, type: number, bits = { dnssecOk: false, checkingDisabled: false }): Promise<{ answer: RR[]; truncated: boolean } | undefined> {
    const reply = await this.answer({ name, lowerName: name.toLowerCase(), type, qclass: 1, ...bits, recursionDesired: true });
    // As CoreDNS's ExternalName chase: an upstream that answered (REFUSED and NXDOMAIN included) keeps the CNAME
    // in the reply, with whatever answer it gave; only a failed lookup (no reply) drops it.
    if (reply.rcode === Rcode.SERVFAIL) return undefined;
    return { answer: reply.answer, truncated: reply.truncated === true };
  }

  async answer(q: ForwardQuestion): Promise<Reply> {
    const key = cacheKey(q);
    const hit = this.cache.get(key);
    if (hit) return this.replyFrom(hit, q, undefined, 'cache');
    let pending = this.inflight.get(key);
    if (pending) this.stats.coalesced++;
    else {
      if (this.active >= this.opts.maxConcurrent) {
        this.stats.maxConcurrentRejects++;
        return { ...emptyReply(Rcode.REFUSED), source: 'forward' };
      }
      pending = this.fetch(key, q);
      this.inflight.set(key, pending);
      void pending.finally(() => this.inflight.delete(key));
    }
    const outcome = await pending;
    if ('entry' in outcome) return this.replyFrom(outcome.entry, q);
    const stale = this.cache.opts.staleSeconds > 0 ? this.cache.get(key, { stale: true }) : undefined;
    if (stale && stale.kind !== 'servfail') return this.replyFrom(stale, q, 30, 'cache'); // RFC 8767 §4: stale answers carry a TTL of 30 s
    this.stats.servfails++;
    // Not cached, as in CoreDNS (its cache keeps an upstream's SERVFAIL, never forward's own failure): a cached
    // failure would outlive the outage by up to --cache-servfail-ttl, measured on the real node (docs/reliability.md).
    // Clients retrying a dead upstream do not pile up: once it counts as down (--max-fails) the query above fails
    // at once without a try, and the health check lets it back within --health-check-interval of its return.
    const reply = emptyReply(Rcode.SERVFAIL);
    reply.recursionAvailable = true;
    reply.source = 'forward';
    if (outcome.loop) reply.ede = { code: EdeCode.OTHER, text: outcome.failure };
    return reply;
  }

  private replyFrom(e: CacheEntry, q: ForwardQuestion, staleTtl?: number, source: ReplySource = 'forward'): Reply {
    const now = this.clock();
    const view = ResponseCache.view(e, now, q, staleTtl);
    // Whole seconds the entry stays fresh: the fast path may replay these bytes that long (never stale ones).
    const maxAge = staleTtl === undefined && e.kind !== 'servfail' ? Math.floor((e.expiresAt - now) / 1000) : 0;
    return {
      source,
      ...(maxAge > 0 ? { replayFor: maxAge } : {}),
      rcode: e.rcode,
      // As CoreDNS: a relayed answer keeps the upstream's AA bit; one served from the cache always has it set
      // (its cache sets AA on every hit, because some stub resolvers drop non-authoritative answers).
      authoritative: source === 'cache' || (e.flags & Flag.AA) !== 0,
      recursionAvailable: (e.flags & Flag.RA) !== 0,
      authenticData: (e.flags & Flag.AD) !== 0 && q.dnssecOk,
      // A fresh relay is what the upstream said (its RD/CD bits, its own truncation); a cache hit is ours.
      ...(source === 'forward' && staleTtl === undefined ? { relayedFlags: e.flags & (Flag.RD | Flag.CD), truncateWhole: true } : {}),
      ...(source === 'forward' && this.opts.relayOptions && e.options?.length ? { relayedOptions: e.options } : {}),
      ...view,
    };
  }

  private async fetch(key: string, q: ForwardQuestion): Promise<Fetched> {
    const group = this.groupFor(q.lowerName);
    const order = group.order();
    if (order.length === 0) {
      const looping = group.upstreams.filter((u) => u.looping);
      if (looping.length) return { failure: this.loop?.explain(looping) ?? 'forwarding loop detected', loop: true };
      this.stats.allDown++;
      return { failure: 'every upstream is down' };
    }
    this.active++;
    this.stats.forwarded++;
    const deadline = this.clock() + this.opts.queryTimeoutMs;
    const errors: string[] = [];
    try {
      for (const upstream of order) {
        const left = deadline - this.clock();
        if (left <= 0) break;
        const started = process.hrtime.bigint();
        try {
          const m = await upstream.exchange(
            { name: q.name, type: q.type, qclass: q.qclass, recursionDesired: q.recursionDesired, checkingDisabled: q.checkingDisabled, dnssecOk: q.dnssecOk },
            Math.min(this.opts.tryTimeoutMs, left),
          );
          this.opts.onExchange?.(upstream.name, m.rcode, Number(process.hrtime.bigint() - started) / 1e9);
          return { entry: this.store(key, m) };
        } catch (err) {
          errors.push((err as Error).message);
          if (err instanceof UpstreamError && err.kind === 'timeout') this.loop?.suspect(upstream);
        }
      }
    } finally {
      this.active--;
    }
    this.log.warn('forwarding failed', { name: q.name, type: q.type, errors });
    return { failure: errors.join('; ') || 'no upstream answered in time' };
  }

  /**
   * Caches the upstream's reply and hands it back as an entry that is already expired (`expiresAt: now`): the
   * querier gets it at once, and the fast path does not replay an answer it has not yet seen from the cache
   * (replayFor is 0); the next identical query finds the cached entry and may be replayed from then on.
   */
  private store(key: string, m: DecodedMessage): CacheEntry {
    this.cache.put(key, m);
    const now = this.clock();
    return {
      rcode: m.rcode,
      flags: m.flags,
      answer: m.answer,
      authority: m.authority,
      additional: m.additional,
      storedAt: now,
      expiresAt: now,
      kind: m.rcode === Rcode.NOERROR && m.answer.length ? 'success' : 'denial',
      ...(m.opt?.options.length ? { options: m.opt.options } : {}),
    };
  }

  close(): void {
    for (const g of this.groups()) g.close();
  }
}
