// Forwarding-loop detection that never crash-loops (CoreDNS's `loop` plugin exits the process, a top cause of
// CoreDNS crash loops in kind and minikube). A probe query for a random name goes to each upstream at start,
// and again when an upstream starts timing out (loops show up as timeouts). If a probe name arrives back at our
// own listener, that upstream forwards to us: it is taken out of rotation for good, names outside the cluster
// get a fast SERVFAIL explaining the fix, and the cluster zone keeps being served.
import { randomInt } from 'node:crypto';
import { Rcode, RRType } from '../dns/constants.js';
import { type Clock, systemClock } from '../base/clock.js';
import type { Logger } from '../base/log.js';
import { type Handler, PASS, emptyReply } from '../resolve/handler.js';
import type { Upstream } from './upstream.js';

const REPROBE_MS = 30_000;

export class LoopDetector {
  private readonly probes = new Map<string, Upstream>();
  private readonly lastProbe = new Map<Upstream, number>();
  readonly detected: string[] = [];

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  /** First handler of the chain: answers our own probes (and records the loop), passes everything else. */
  readonly handle: Handler = (query) => {
    const upstream = this.probes.get(query.lowerName);
    if (!upstream) return PASS;
    this.probes.delete(query.lowerName);
    if (!upstream.looping) {
      upstream.looping = true;
      this.detected.push(upstream.name);
      this.log.error('forwarding loop detected: upstream sends our queries back to us; it is no longer used', {
        upstream: upstream.name,
        fix: 'run cluster-dns with dnsPolicy: Default, or point the kubelet resolvConf at a file without loopback resolvers',
      });
    }
    return { ...emptyReply(Rcode.SERVFAIL), source: 'loop' };
  };

  probe(upstream: Upstream): void {
    this.lastProbe.set(upstream, this.clock.now());
    const name = `${randomInt(1e9, 9e9)}.${randomInt(1e9, 9e9)}`;
    this.probes.set(name, upstream);
    upstream
      .exchange({ name, type: RRType.HINFO, qclass: 1, recursionDesired: true, checkingDisabled: false, dnssecOk: false }, 2000)
      .catch(() => undefined) // an unreachable upstream is not a loop, and must never block start-up
      .finally(() => this.clock.after(5000, () => this.probes.delete(name), { unref: true }));
  }

  /** An upstream timed out: probe it again, at most every 30 s. */
  suspect(upstream: Upstream): void {
    if (upstream.looping || this.clock.now() - (this.lastProbe.get(upstream) ?? 0) < REPROBE_MS) return;
    this.probe(upstream);
  }

  explain(looping: Upstream[]): string {
    return `forwarding loop: upstream ${looping.map((u) => u.name).join(', ')} sends queries back to this server; give the cluster-dns pod dnsPolicy: Default, or set the kubelet's resolvConf to a file without loopback resolvers`;
  }
}
