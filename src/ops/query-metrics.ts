// Per-query accounting with CoreDNS's metric names and labels (plugin/metrics/vars), kept in plain cells.
// A replayed answer (dns/replay.ts) keeps its cells in the entry's memo, so a fast-path reply costs a few increments.
import { RCODE_NAMES, typeName } from '../dns/constants.js';
import type { Proto, QueryEvent } from '../dns/exchange.js';
import type { ReplySource } from '../dns/message.js';
import { type Cell, type HistogramSeries, LabeledCounter, PlainHistogram, exponentialBuckets, observeSeries } from './counters.js';

/** The qtypes CoreDNS reports by name; everything else is `other` (bounded label cardinality). */
const REPORTED_TYPES = new Set(['A', 'AAAA', 'CNAME', 'DNSKEY', 'DS', 'MX', 'NSEC3', 'NSEC', 'NS', 'PTR', 'RRSIG', 'SOA', 'SRV', 'TXT', 'HTTPS', 'SVCB', 'IXFR', 'AXFR', 'ANY']);
/** CoreDNS's `plugin` label for each part of this server. */
export const PLUGIN_LABEL: Record<ReplySource, string> = { cluster: 'kubernetes', forward: 'forward', cache: 'cache', loop: 'loop' };
const SIZE_BUCKETS = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3];

/** What a query's accounting depends on. */
export interface QueryShape {
  lowerName: string;
  type: number;
  rcode: number;
  plugin: string;
  dnssecOk: boolean;
  proto: Proto;
  family: 4 | 6;
}

export interface MetricCells {
  request: Cell;
  response: Cell;
  doRequest: Cell | undefined;
  duration: HistogramSeries;
  requestSize: HistogramSeries;
  responseSize: HistogramSeries;
}

export class QueryMetrics {
  readonly requests = new LabeledCounter(['server', 'zone', 'view', 'proto', 'family', 'type']);
  readonly responses = new LabeledCounter(['server', 'zone', 'view', 'rcode', 'plugin']);
  readonly doRequests = new LabeledCounter(['server', 'zone', 'view']);
  readonly duration = new PlainHistogram(['server', 'zone', 'view'], exponentialBuckets(0.00025, 2, 16));
  readonly requestSize = new PlainHistogram(['server', 'zone', 'view', 'proto'], SIZE_BUCKETS);
  readonly responseSize = new PlainHistogram(['server', 'zone', 'view', 'proto'], SIZE_BUCKETS);
  /** Zones, longest first, to label each query with the zone it fell in. */
  private zones: string[] = [];

  constructor(
    readonly server: string,
    zones: string[],
  ) {
    this.setZones(zones);
  }

  setZones(zones: string[]): void {
    this.zones = [...zones].sort((a, b) => b.length - a.length);
  }

  private zoneOf(lowerName: string): string {
    for (const z of this.zones) if (lowerName === z || lowerName.endsWith(`.${z}`)) return `${z}.`;
    return '.';
  }

  cells(q: QueryShape): MetricCells {
    const zone = this.zoneOf(q.lowerName);
    const t = typeName(q.type);
    const s = this.server;
    return {
      request: this.requests.cell([s, zone, '', q.proto, q.family === 6 ? '2' : '1', REPORTED_TYPES.has(t) ? t : 'other']),
      response: this.responses.cell([s, zone, '', RCODE_NAMES[q.rcode] ?? String(q.rcode), q.plugin]),
      doRequest: q.dnssecOk ? this.doRequests.cell([s, zone, '']) : undefined,
      duration: this.duration.series([s, zone, '']),
      requestSize: this.requestSize.series([s, zone, '', q.proto]),
      responseSize: this.responseSize.series([s, zone, '', q.proto]),
    };
  }

  static record(c: MetricCells, seconds: number, requestSize: number, responseSize: number): void {
    c.request.n++;
    c.response.n++;
    if (c.doRequest) c.doRequest.n++;
    observeSeries(c.duration, seconds);
    observeSeries(c.requestSize, requestSize);
    observeSeries(c.responseSize, responseSize);
  }

  readonly observe = (e: QueryEvent): void => {
    const seconds = Number(process.hrtime.bigint() - e.started) / 1e9;
    if (e.kind === 'replayed') {
      const { entry, dnssecOk } = e.hit;
      const slot = (e.proto === 'udp' ? 0 : 4) + (e.client.family === 6 ? 2 : 0) + (dnssecOk ? 1 : 0);
      const memo = entry.memo as Array<MetricCells | undefined>;
      const cells = (memo[slot] ??= this.cells({ lowerName: entry.lowerName, type: entry.type, rcode: entry.rcode, plugin: PLUGIN_LABEL[entry.source], dnssecOk, proto: e.proto, family: e.client.family }));
      QueryMetrics.record(cells, seconds, e.requestSize, e.size);
      return;
    }
    const cells = this.cells({
      lowerName: e.query.lowerName,
      type: e.query.type,
      rcode: e.reply.rcode,
      plugin: e.reply.source ? PLUGIN_LABEL[e.reply.source] : '',
      dnssecOk: e.query.edns?.dnssecOk ?? false,
      proto: e.proto,
      family: e.client.family,
    });
    QueryMetrics.record(cells, seconds, e.requestSize, e.size);
  };
}
