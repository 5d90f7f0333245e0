// Every exported metric, in one place: CoreDNS's names and labels (so its dashboards and alerts work), plus
// cluster-dns's own. Values come from the plain counters the hot path keeps, read only when /metrics is
// scraped; prom-client supplies the registry, the text format and the process_* / nodejs_* metrics.
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { ClusterState } from '../cluster/state.js';
import type { Forwarder } from '../forward/forwarder.js';
import type { ListWatchStatus } from '../kube/list-watch.js';
import type { ZoneIndex } from '../records/zone-index.js';
import type { PipelineStats } from '../transport/pipeline.js';
import { type HistogramSeries, type LabeledCounter, PlainHistogram, exponentialBuckets } from './counters.js';
import type { QueryMetrics } from './query-metrics.js';

type Labels = Record<string, string>;
interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** What /metrics reads. `core()` is the current set (a config reload swaps it); the rest lives as long as the process. */
export interface MetricSources {
  query: QueryMetrics;
  pipeline: () => PipelineStats;
  core: () => {
    index: ZoneIndex;
    state: ClusterState;
    forwarder: Forwarder | undefined;
    proxyDuration: PlainHistogram | undefined;
    watches: Array<{ kind: string; status: ListWatchStatus }>;
    synced: boolean;
    /** --autopath outcomes and gauges, when it is on. */
    autopath: { counts: Record<string, number>; pods: number; lagSeconds: number } | undefined;
    zones: string[];
  };
  programming: PlainHistogram;
  reloadFailures: () => number;
  plugins: () => string[];
  version: string;
}

function custom(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: () => Value[]) {
  return {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    get: async () => ({ name, help, type, aggregator: 'sum' as const, values: values() }),
    reset: () => undefined,
  };
}

function counterValues(c: LabeledCounter): Value[] {
  return [...c.entries()].map(([labels, value]) => ({ labels, value }));
}

function histogramValues(name: string, entries: Iterable<[Labels, HistogramSeries]>, buckets: readonly number[]): Value[] {
  const out: Value[] = [];
  for (const [labels, s] of entries) {
    let cumulative = 0;
    buckets.forEach((le, i) => {
      cumulative += s.counts[i]!;
      out.push({ labels: { ...labels, le: String(le) }, value: cumulative, metricName: `${name}_bucket` });
    });
    out.push({ labels: { ...labels, le: '+Inf' }, value: s.count, metricName: `${name}_bucket` });
    out.push({ labels, value: s.sum, metricName: `${name}_sum` });
    out.push({ labels, value: s.count, metricName: `${name}_count` });
  }
  return out;
}

const histogram = (name: string, help: string, h: () => PlainHistogram | undefined) =>
  custom(name, help, 'histogram', () => {
    const hist = h();
    return hist ? histogramValues(name, hist.entries(), hist.buckets) : [];
  });

/** A registry for the webhook process: its admission counters by outcome, and process_* / nodejs_*. */
export function createWebhookRegistry(counters: () => Record<string, number>): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registry.registerMetric(
    custom('cluster_dns_webhook_admissions_total', 'AdmissionReviews answered by the env-var injector, by outcome (reviews counts them all).', 'counter', () =>
      Object.entries(counters()).map(([outcome, value]) => ({ labels: { outcome }, value })),
    ) as never,
  );
  return registry;
}

type Metric = ReturnType<typeof custom>;

/** CoreDNS's server-wide series: queries, responses, sizes, durations, panics, build info, plugins, reloads. */
function serverMetrics(src: MetricSources): Metric[] {
  const q = src.query;
  const server = q.server;
  return [
    custom('coredns_dns_requests_total', 'Counter of DNS requests made per zone, protocol and family.', 'counter', () => counterValues(q.requests)),
    custom('coredns_dns_responses_total', 'Counter of response status codes.', 'counter', () => counterValues(q.responses)),
    custom('coredns_dns_do_requests_total', 'Counter of DNS requests with DO bit set per zone.', 'counter', () => counterValues(q.doRequests)),
    histogram('coredns_dns_request_duration_seconds', 'Histogram of the time (in seconds) each request took per zone.', () => q.duration),
    histogram('coredns_dns_request_size_bytes', 'Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.', () => q.requestSize),
    histogram('coredns_dns_response_size_bytes', 'Size of the returned response in bytes.', () => q.responseSize),
    custom('coredns_panics_total', 'A metrics that counts the number of panics.', 'counter', () => [{ labels: {}, value: src.pipeline().handlerErrors }]),
    custom('coredns_build_info', 'A metric with a constant 1 value labeled by version, revision, and goversion from which CoreDNS was built.', 'gauge', () => [
      { labels: { version: src.version, revision: 'cluster-dns', goversion: `node${process.versions.node}` }, value: 1 },
    ]),
    custom('coredns_plugin_enabled', 'A metric that indicates whether a plugin is enabled on per server and zone basis.', 'gauge', () =>
      src.plugins().flatMap((name) => src.core().zones.map((zone) => ({ labels: { server, zone: `${zone}.`, view: '', name }, value: 1 }))),
    ),
    custom('coredns_reload_failed_total', 'Counter of the number of failed reload attempts.', 'counter', () => [{ labels: {}, value: src.reloadFailures() }]),
  ];
}

/** CoreDNS's cache, forward and kubernetes-plugin series. */
function forwardMetrics(src: MetricSources): Metric[] {
  const server = src.query.server;
  const fwd = () => src.core().forwarder;
  const cacheLabels = (type?: string): Labels => ({ server, ...(type ? { type } : {}), zones: '.', view: '' });
  return [
    custom('coredns_cache_entries', 'The number of elements in the cache.', 'gauge', () => {
      const f = fwd();
      if (!f) return [];
      const n = f.cache.countByKind();
      return [
        { labels: cacheLabels('success'), value: n.success },
        { labels: cacheLabels('denial'), value: n.denial },
      ];
    }),
    custom('coredns_cache_hits_total', 'The count of cache hits.', 'counter', () => {
      const f = fwd();
      if (!f) return [];
      const h = f.cache.stats.hits;
      return [
        { labels: cacheLabels('success'), value: h.success },
        { labels: cacheLabels('denial'), value: h.denial + h.servfail },
      ];
    }),
    custom('coredns_cache_misses_total', 'The count of cache misses.', 'counter', () => {
      const f = fwd();
      return f ? [{ labels: cacheLabels(), value: f.cache.stats.misses }] : [];
    }),
    custom('coredns_cache_requests_total', 'The count of cache requests.', 'counter', () => {
      const f = fwd();
      if (!f) return [];
      const s = f.cache.stats;
      return [{ labels: cacheLabels(), value: s.misses + s.hits.success + s.hits.denial + s.hits.servfail }];
    }),
    custom('coredns_cache_served_stale_total', 'The number of requests served from stale cache entries.', 'counter', () => {
      const f = fwd();
      return f ? [{ labels: cacheLabels(), value: f.cache.stats.stale }] : [];
    }),
    histogram('coredns_proxy_request_duration_seconds', 'Histogram of the time each request took.', () => src.core().proxyDuration),
    custom('coredns_proxy_healthcheck_failures_total', 'Count of failed health checks per upstream.', 'counter', () =>
      (fwd()?.groups() ?? []).flatMap((g) => g.upstreams.map((u) => ({ labels: { proxy_name: 'forward', to: u.name }, value: u.stats.healthCheckFailures }))),
    ),
    custom('coredns_forward_healthcheck_broken_total', 'Counter of the number of complete failures of the healthchecks.', 'counter', () => {
      const f = fwd();
      return f ? [{ labels: {}, value: f.stats.allDown }] : [];
    }),
    custom('coredns_forward_max_concurrent_rejects_total', 'Counter of the number of queries rejected because the concurrent queries were at maximum.', 'counter', () => {
      const f = fwd();
      return f ? [{ labels: {}, value: f.stats.maxConcurrentRejects }] : [];
    }),
    histogram('coredns_kubernetes_dns_programming_duration_seconds', 'Histogram of the time (in seconds) it took to program a dns instance.', () => src.programming),
  ];
}

/** cluster-dns's own series: the cluster state, the watches, dropped and malformed packets, upstream oddities. */
function clusterDnsMetrics(src: MetricSources): Metric[] {
  const fwd = () => src.core().forwarder;
  return [
    custom('cluster_dns_objects', 'Objects in the cluster state, by kind.', 'gauge', () =>
      Object.entries(src.core().state.counts()).map(([kind, value]) => ({ labels: { kind }, value })),
    ),
    custom('cluster_dns_index_names', 'Names in the record index (per zone).', 'gauge', () => [{ labels: {}, value: src.core().index.recordCount() }]),
    custom('cluster_dns_synced', '1 once the first full sync of every watched resource is done.', 'gauge', () => [{ labels: {}, value: src.core().synced ? 1 : 0 }]),
    custom('cluster_dns_watch_restarts_total', 'List/watch restarts after an error, by resource.', 'counter', () =>
      src.core().watches.map(({ kind, status }) => ({ labels: { kind }, value: status.restarts })),
    ),
    custom('cluster_dns_watch_relists_total', 'Full lists (start, and after 410 Gone), by resource.', 'counter', () =>
      src.core().watches.map(({ kind, status }) => ({ labels: { kind }, value: status.relists })),
    ),
    custom('cluster_dns_seconds_since_last_event', 'Seconds since the last list or watch event, by resource.', 'gauge', () =>
      src.core().watches.map(({ kind, status }) => ({ labels: { kind }, value: status.lastEventAt ? (Date.now() - status.lastEventAt) / 1000 : -1 })),
    ),
    custom('cluster_dns_dropped_packets_total', 'Packets dropped without an answer, by reason.', 'counter', () =>
      Object.entries(src.pipeline().dropped).map(([reason, value]) => ({ labels: { reason }, value })),
    ),
    custom('cluster_dns_malformed_queries_total', 'Queries answered FORMERR, NOTIMP or BADVERS.', 'counter', () => [{ labels: {}, value: src.pipeline().malformed }]),
    custom('cluster_dns_upstream_mismatched_replies_total', 'Upstream replies ignored because their ID or question did not match.', 'counter', () =>
      (fwd()?.groups() ?? []).flatMap((g) => g.upstreams.map((u) => ({ labels: { to: u.name }, value: u.stats.mismatched }))),
    ),
    custom('cluster_dns_autopath_total', 'Queries in the cluster zones seen by --autopath, by outcome: the search finished (completed, nodata, nxdomain, failed), not needed (exists), or why it was refused.', 'counter', () =>
      Object.entries(src.core().autopath?.counts ?? {}).map(([outcome, value]) => ({ labels: { outcome }, value })),
    ),
    custom('cluster_dns_autopath_pods', 'Pods with an address in the --autopath client projection.', 'gauge', () => {
      const a = src.core().autopath;
      return a ? [{ labels: {}, value: a.pods }] : [];
    }),
    custom('cluster_dns_autopath_watch_lag_seconds', 'How far behind the API server the Pod watch has been in the last minute or two (--autopath).', 'gauge', () => {
      const a = src.core().autopath;
      return a ? [{ labels: {}, value: a.lagSeconds }] : [];
    }),
    custom('cluster_dns_forward_coalesced_total', 'Queries answered by another identical query already in flight.', 'counter', () => {
      const f = fwd();
      return f ? [{ labels: {}, value: f.stats.coalesced }] : [];
    }),
    ...limitMetrics(src),
  ];
}

/** What the memory limits did (transport/accounting.ts, docs/reliability.md). */
function limitMetrics(src: MetricSources): Metric[] {
  const limits = () => src.pipeline().limits;
  return [
    custom('cluster_dns_tcp_backpressure_paused_total', 'TCP connections no longer read because their replies were not being read.', 'counter', () => [{ labels: {}, value: limits().paused }]),
    custom('cluster_dns_tcp_backpressure_closed_total', 'TCP connections closed because their replies were not being read or memory for them was spoken for.', 'counter', () => [
      { labels: {}, value: limits().closed },
    ]),
    custom('cluster_dns_replies_dropped_total', 'Replies not sent: their TCP connection was gone, or the UDP send queue was full, by proto.', 'counter', () =>
      (['udp', 'tcp'] as const).map((proto) => ({ labels: { proto }, value: limits().dropped[proto] })),
    ),
    custom('cluster_dns_in_flight_refused_total', 'Queries answered REFUSED because --max-in-flight queries were waiting on another server.', 'counter', () => [
      { labels: {}, value: limits().refusedInFlight },
    ]),
    custom('cluster_dns_queued_bytes', 'Reply bytes (and bytes of incomplete TCP messages) waiting in memory now.', 'gauge', () => [{ labels: {}, value: Math.max(0, limits().queuedBytes) }]),
  ];
}

export function createRegistry(src: MetricSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const m of [...serverMetrics(src), ...forwardMetrics(src), ...clusterDnsMetrics(src)]) registry.registerMetric(m as never);
  return registry;
}
