// Plain counters and histograms for the hot path. A series is a small mutable cell looked up once by its
// label values; callers on the hottest path keep the cell and just increment it. They are read and exported
// only when /metrics is scraped.

const SEP = '\u0000';

export interface Cell {
  n: number;
}

export class LabeledCounter {
  private readonly cells = new Map<string, Cell>();
  constructor(readonly labelNames: readonly string[]) {}

  cell(labelValues: readonly string[]): Cell {
    const key = labelValues.join(SEP);
    let c = this.cells.get(key);
    if (!c) this.cells.set(key, (c = { n: 0 }));
    return c;
  }

  inc(labelValues: readonly string[], by = 1): void {
    this.cell(labelValues).n += by;
  }

  *entries(): Generator<[Record<string, string>, number]> {
    for (const [key, c] of this.cells) yield [labelsOf(this.labelNames, key), c.n];
  }

  total(): number {
    let n = 0;
    for (const c of this.cells.values()) n += c.n;
    return n;
  }
}

export interface HistogramSeries {
  /** Upper bounds, shared with the histogram. */
  buckets: readonly number[];
  /** Non-cumulative counts per bucket, plus one for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

export function observeSeries(s: HistogramSeries, value: number): void {
  let i = 0;
  const b = s.buckets;
  while (i < b.length && value > b[i]!) i++;
  s.counts[i]!++;
  s.sum += value;
  s.count++;
}

export class PlainHistogram {
  private readonly map = new Map<string, HistogramSeries>();
  constructor(
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {}

  series(labelValues: readonly string[]): HistogramSeries {
    const key = labelValues.join(SEP);
    let s = this.map.get(key);
    if (!s) this.map.set(key, (s = { buckets: this.buckets, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 }));
    return s;
  }

  observe(labelValues: readonly string[], value: number): void {
    observeSeries(this.series(labelValues), value);
  }

  *entries(): Generator<[Record<string, string>, HistogramSeries]> {
    for (const [key, s] of this.map) yield [labelsOf(this.labelNames, key), s];
  }
}

function labelsOf(names: readonly string[], key: string): Record<string, string> {
  const values = names.length === 0 ? [] : key.split(SEP);
  const out: Record<string, string> = {};
  names.forEach((n, i) => (out[n] = values[i] ?? ''));
  return out;
}

export const exponentialBuckets = (start: number, factor: number, count: number): number[] => Array.from({ length: count }, (_, i) => start * factor ** i);
