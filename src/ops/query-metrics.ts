// Per-query accounting with CoreDNS's metric names and labels (plugin/metrics/vars), kept in plain cells.
// A replayed answer (dns/replay.ts) keeps its cells in the entry's memo, so a fast-path reply costs a few increments.
import { RCODE_NAMES } from '../dns/constants.js';
import type { Proto, QueryEvent } from '../dns/exchange.js';
import type { ReplySource } from '../dns/message.js';
import { type Cell, type HistogramSeries, LabeledCounter, PlainHistogram, exponentialBuckets, observeSeries } from './counters.js';

/**
 * The qtypes CoreDNS reports by name, by number (some, DNSSEC's, are types this server never serves, so they are
 * not in dns/constants.ts); everything else is `other` (bounded label cardinality).
 */
const REPORTED_TYPES = new Map<number, string>([
  [1, 'A'], [2, 'NS'], [5, 'CNAME'], [6, 'SOA'], [12, 'PTR'], [15, 'MX'], [16, 'TXT'], [28, 'AAAA'], [33, 'SRV'],
  [43, 'DS'], [46, 'RRSIG'], [47, 'NSEC'], [48, 'DNSKEY'], [50, 'NSEC3'], [64, 'SVCB'], [65, 'HTTPS'],
  [251, 'IXFR'], [252, 'AXFR'], [255, 'ANY'],
]);
/** Each reported type's place in a memo key (`other` is REPORTED_TYPES.size). */
const TYPE_SLOT = new Map([...REPORTED_TYPES.keys()].map((type, i) => [type, i]));
/** CoreDNS's `plugin` label for each part of this server. */
export const PLUGIN_LABEL: Record<ReplySource, string> = { cluster: 'kubernetes', forward: 'forward', cache: 'cache', loop: 'loop' };
/** The `plugin` label's values ('' for a reply no part claims), for their place in a memo key. */
const PLUGINS = ['', ...Object.values(PLUGIN_LABEL)];
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
  /**
   * The cells of each label combination seen, by a number made of the labels' places. Looking the six series up
   * by their label strings (six arrays, six joined keys) was an uncached query's second largest allocation. Its
   * size is bounded by the labels' values: zones, 20 types, the rcodes answered, 5 plugins, and three flags.
   */
  private readonly memo = new Map<number, MetricCells>();

  constructor(
    readonly server: string,
    zones: string[],
  ) {
    this.setZones(zones);
  }

  setZones(zones: string[]): void {
    this.zones = [...zones].sort((a, b) => b.length - a.length);
    this.memo.clear();
  }

  /** The index in `zones` of the zone `lowerName` falls in, or zones.length for the root. */
  private zoneOf(lowerName: string): number {
    for (let i = 0; i < this.zones.length; i++) {
      const z = this.zones[i]!;
      if (lowerName === z) return i;
      const dot = lowerName.length - z.length - 1;
      if (dot > 0 && lowerName.charCodeAt(dot) === 0x2e && lowerName.endsWith(z)) return i;
    }
    return this.zones.length;
  }

  cells(q: QueryShape): MetricCells {
    const zoneIndex = this.zoneOf(q.lowerName);
    const typeSlot = TYPE_SLOT.get(q.type) ?? REPORTED_TYPES.size;
    const plugin = PLUGINS.indexOf(q.plugin);
    if (plugin < 0) return this.build(q, zoneIndex);
    // rcode has 12 bits (with EDNS's extension), the plugin 3; the type slot fits in 5.
    const key = (((((zoneIndex * 32 + typeSlot) * 4096 + (q.rcode & 0xfff)) * 8 + plugin) * 2 + (q.dnssecOk ? 1 : 0)) * 2 + (q.proto === 'tcp' ? 1 : 0)) * 2 + (q.family === 6 ? 1 : 0);
    let cells = this.memo.get(key);
    if (!cells) this.memo.set(key, (cells = this.build(q, zoneIndex)));
    return cells;
  }

  private build(q: QueryShape, zoneIndex: number): MetricCells {
    const zone = zoneIndex < this.zones.length ? `${this.zones[zoneIndex]}.` : '.';
    const s = this.server;
    return {
      request: this.requests.cell([s, zone, '', q.proto, q.family === 6 ? '2' : '1', REPORTED_TYPES.get(q.type) ?? 'other']),
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
