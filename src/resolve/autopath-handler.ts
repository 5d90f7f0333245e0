// --autopath, the handler: sits before the cluster handler and lets every query through (PASS) except an
// address query shaped like a first search expansion, `<base>.<ns>.svc.<zone>`. That one it answers itself:
// the asked name through the rest of the chain; if it does not exist and the client is surely a pod of <ns>
// with the kubelet's search path (resolve/autopath.ts), the rest of the path — `<base>.svc.<zone>`,
// `<base>.<zone>`, `<base>` — through the same chain (cluster, forwarder, its cache), stopping at the first name
// that exists (resolve/autopath-answer.ts shapes the reply). Every outcome is counted.
import type { Clock } from '../base/clock.js';
import type { Attribution, PodAddresses } from '../cluster/pod-addresses.js';
import { Rcode } from '../dns/constants.js';
import type { Client } from '../dns/exchange.js';
import type { Query, Reply } from '../dns/message.js';
import { parseIP } from '../net/ip.js';
import { AUTOPATH_OUTCOMES, type AutopathOutcome, type Expansion, isAddressQuery, refusal, remainingSearch, searchExpansion } from './autopath.js';
import { completedReply, nodataReply, perClient } from './autopath-answer.js';
import { type Handler, type HandlerResult, PASS } from './handler.js';
import { zoneOf } from './names.js';

export interface AutopathOptions {
  /** Cluster zones, lower-case. */
  zones: string[];
  addresses: PodAddresses;
  /** The Pod watch is connected; undefined when there is no watch (the manifests source: always current). */
  watch: (() => { connected: boolean; lastError: string | undefined }) | undefined;
  maxLagMs: number;
  clock: Clock;
}

type Maybe<T> = T | Promise<T>;
const then = <T, U>(v: Maybe<T>, f: (t: T) => Maybe<U>): Maybe<U> => (v instanceof Promise ? v.then(f) : f(v));

export class AutopathHandler {
  readonly counts = Object.fromEntries(AUTOPATH_OUTCOMES.map((o) => [o, 0])) as Record<AutopathOutcome, number>;
  private readonly zones: string[];

  constructor(
    /** The handlers after this one (cluster, any extras, the forwarder): each search name goes through them. */
    private readonly rest: Handler[],
    private readonly opts: AutopathOptions,
  ) {
    this.zones = [...opts.zones].sort((a, b) => b.length - a.length);
  }

  readonly handle: Handler = (query, client) => {
    const zone = zoneOf(query.lowerName, this.zones);
    if (zone === undefined) return PASS; // outside the cluster zones: never a search expansion of ours
    if (!isAddressQuery(query.type)) return this.pass('other_type');
    const expansion = searchExpansion(query.name, zone);
    if (!expansion) return this.pass('not_expansion');
    return then(this.chain(query, client), (asked) => {
      if (asked === PASS || asked.rcode !== Rcode.NXDOMAIN) {
        this.count('exists');
        return asked;
      }
      const why = refusal(expansion.namespace, this.facts(client));
      if (why) {
        this.count(why);
        return perClient(asked);
      }
      return this.walk(query, client, expansion, asked);
    });
  };

  /** For /metrics: pods known with an address, and the Pod watch's recent lag in seconds. */
  gauges(): { pods: number; lagSeconds: number } {
    return { pods: this.opts.addresses.size, lagSeconds: this.opts.addresses.watchLagMs() / 1000 };
  }

  /** Why autopath is off for every client right now, for /ready's body; undefined while it works. */
  health(): string | undefined {
    const w = this.opts.watch?.();
    if (w && !w.connected) return `autopath off: the Pod watch is down${w.lastError ? ` (${w.lastError})` : ''}; answering without it`;
    const lag = this.opts.addresses.watchLagMs();
    if (lag > this.opts.maxLagMs) return `autopath off: the Pod watch is ${(lag / 1000).toFixed(1)} s behind the API server (more than --autopath-max-lag); answering without it`;
    return undefined;
  }

  private async walk(query: Query, client: Client | undefined, e: Expansion, askedNx: Reply): Promise<HandlerResult> {
    for (const name of remainingSearch(e)) {
      const found = await this.chain({ ...query, name, lowerName: name.toLowerCase() }, client);
      if (found !== PASS && found.rcode === Rcode.NXDOMAIN) continue;
      if (found === PASS || found.rcode !== Rcode.NOERROR) {
        // SERVFAIL, REFUSED, no forwarder: the asked name's own answer is still true, and the client's own
        // search reaches the failing name next and sees the failure itself.
        this.count('failed');
        return perClient(askedNx);
      }
      if (found.answer.length === 0) {
        this.count('nodata');
        return nodataReply(askedNx);
      }
      this.count('completed');
      return completedReply(query.name, found);
    }
    this.count('nxdomain');
    return perClient(askedNx);
  }

  /** The rest of the chain for one name, as the pipeline runs it: the first handler that does not PASS. */
  private chain(query: Query, client: Client | undefined, from = 0): Maybe<HandlerResult> {
    for (let i = from; i < this.rest.length; i++) {
      const r = this.rest[i]!(query, client);
      if (r instanceof Promise) return r.then((x) => (x === PASS ? this.chain(query, client, i + 1) : x));
      if (r !== PASS) return r;
    }
    return PASS;
  }

  private facts(client: Client | undefined) {
    const w = this.opts.watch?.();
    return {
      watchConnected: w ? w.connected : true,
      watchLagMs: this.opts.addresses.watchLagMs(),
      maxLagMs: this.opts.maxLagMs,
      who: this.who(client),
      now: this.opts.clock.now(),
    };
  }

  private who(client: Client | undefined): Attribution {
    const ip = client ? parseIP(client.address) : undefined;
    if (!ip) return { kind: 'unknown' };
    // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; pods are indexed by the plain IPv4 text.
    const text = ip.family === 4 ? ip.text.substring(ip.text.lastIndexOf(':') + 1) : ip.text;
    return this.opts.addresses.attribute(text);
  }

  private pass(outcome: AutopathOutcome): typeof PASS {
    this.count(outcome);
    return PASS;
  }

  private count(outcome: AutopathOutcome): void {
    this.counts[outcome]++;
  }
}
