// Per-query accounting with CoreDNS's metric names and labels (plugin/metrics/vars), kept in plain counters:
// a few Map increments per query. Exported by metrics.ts at scrape time.
import { RCODE_NAMES, typeName } from '../dns/constants.js';
import type { QueryEvent } from '../transport/pipeline.js';
import { LabeledCounter, PlainHistogram, exponentialBuckets } from './counters.js';

/** The qtypes CoreDNS reports by name; everything else is `other` (bounded label cardinality). */
const REPORTED_TYPES = new Set(['A', 'AAAA', 'CNAME', 'DNSKEY', 'DS', 'MX', 'NSEC3', 'NSEC', 'NS', 'PTR', 'RRSIG', 'SOA', 'SRV', 'TXT', 'HTTPS', 'SVCB', 'IXFR', 'AXFR', 'ANY']);
const SIZE_BUCKETS = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3];

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

  readonly observe = (e: QueryEvent): void => {
    const zone = this.zoneOf(e.query.lowerName);
    const t = typeName(e.query.type);
    const s = this.server;
    this.requests.inc([s, zone, '', e.proto, e.client.family === 6 ? '2' : '1', REPORTED_TYPES.has(t) ? t : 'other']);
    this.responses.inc([s, zone, '', RCODE_NAMES[e.reply.rcode] ?? String(e.reply.rcode), e.reply.plugin ?? '']);
    if (e.query.edns?.dnssecOk) this.doRequests.inc([s, zone, '']);
    this.duration.observe([s, zone, ''], Number(process.hrtime.bigint() - e.started) / 1e9);
    this.requestSize.observe([s, zone, '', e.proto], e.requestSize);
    this.responseSize.observe([s, zone, '', e.proto], e.size);
  };
}
