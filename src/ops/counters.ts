// Plain counters and histograms for the hot path: a Map increment per event, no label validation, no
// allocation beyond the key string. They are read and exported only when /metrics is scraped.

const SEP = '\u0000';

export class LabeledCounter {
  private readonly values = new Map<string, number>();
  constructor(readonly labelNames: readonly string[]) {}

  inc(labelValues: readonly string[], by = 1): void {
    const key = labelValues.join(SEP);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  /** For callers that build the key themselves with `key()` once and reuse it. */
  incKey(key: string, by = 1): void {
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  static key(labelValues: readonly string[]): string {
    return labelValues.join(SEP);
  }

  *entries(): Generator<[Record<string, string>, number]> {
    for (const [key, value] of this.values) yield [labelsOf(this.labelNames, key), value];
  }

  total(): number {
    let n = 0;
    for (const v of this.values.values()) n += v;
    return n;
  }
}

export interface HistogramSeries {
  /** Non-cumulative counts per bucket, plus one for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

export class PlainHistogram {
  private readonly series = new Map<string, HistogramSeries>();
  constructor(
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {}

  observe(labelValues: readonly string[], value: number): void {
    const key = labelValues.join(SEP);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 }));
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  *entries(): Generator<[Record<string, string>, HistogramSeries]> {
    for (const [key, s] of this.series) yield [labelsOf(this.labelNames, key), s];
  }
}

function labelsOf(names: readonly string[], key: string): Record<string, string> {
  const values = names.length === 0 ? [] : key.split(SEP);
  const out: Record<string, string> = {};
  names.forEach((n, i) => (out[n] = values[i] ?? ''));
  return out;
}

export const exponentialBuckets = (start: number, factor: number, count: number): number[] => Array.from({ length: count }, (_, i) => start * factor ** i);
