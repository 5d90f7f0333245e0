// Everything that watches the server without changing an answer: the per-query metrics, the query log, the
// programming-latency histogram, reload failures, and the /metrics registry (built on the first scrape, so
// prom-client is not loaded before anyone asks). One `observe` is the pipeline's only hook.
import type { Logger } from '../base/log.js';
import type { QueryEvent } from '../dns/exchange.js';
import { PlainHistogram, exponentialBuckets } from '../ops/counters.js';
import type { MetricsText } from '../ops/http.js';
import type { MetricSources } from '../ops/metrics.js';
import { QueryMetrics } from '../ops/query-metrics.js';
import { queryLog } from '../ops/query-log.js';
import type { Config } from '../config/config.js';
import type { Core } from './core.js';

const servedZones = (c: Config): string[] => [...c.zones, 'in-addr.arpa', 'ip6.arpa'];

export class Observers {
  /** coredns_kubernetes_dns_programming_duration_seconds, fed by the API source; lives across reloads. */
  readonly programming = new PlainHistogram(['service_kind'], exponentialBuckets(0.001, 2, 20));
  readonly queries: QueryMetrics;
  reloadFailures = 0;
  private log: ((e: QueryEvent) => void) | undefined;
  private registry: Promise<MetricsText> | undefined;

  constructor(
    config: Config,
    private readonly logger: Logger,
    private readonly sources: Omit<MetricSources, 'query' | 'programming' | 'reloadFailures' | 'core'> & { live: () => { config: Config; core: Core } },
  ) {
    this.queries = new QueryMetrics(`dns://${config.dnsAddr.host}:${config.dnsAddr.port}`, servedZones(config));
    this.configure(config);
  }

  /** A new configuration: zones relabelled (counters continue), the query log on or off. */
  configure(config: Config): void {
    this.queries.setZones(servedZones(config));
    this.log = config.logQueries ? queryLog(this.logger) : undefined;
  }

  readonly observe = (e: QueryEvent): void => {
    this.queries.observe(e);
    if (e.kind === 'replayed') {
      // A replayed forwarded answer is a hit of the forward cache it came from.
      const { entry } = e.hit;
      if (entry.source === 'cache') this.sources.live().core.forwarder?.cache.countReplay(entry.rcode, entry.an);
      return;
    }
    this.log?.(e);
  };

  readonly metrics = (): Promise<MetricsText> =>
    (this.registry ??= import('../ops/metrics.js').then(({ createRegistry }) => {
      const { live, ...rest } = this.sources;
      return createRegistry({
        ...rest,
        query: this.queries,
        programming: this.programming,
        reloadFailures: () => this.reloadFailures,
        core: () => {
          const { core, config } = live();
          return {
            index: core.index,
            state: core.state,
            forwarder: core.forwarder,
            proxyDuration: core.proxyDuration,
            watches: core.source.watches(),
            synced: core.source.synced(),
            autopath: core.autopath ? { counts: core.autopath.counts, ...core.autopath.gauges() } : undefined,
            zones: servedZones(config),
          };
        },
      });
    }));
}
