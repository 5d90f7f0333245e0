// Reads /metrics with Prometheus's own text parser (expfmt, via test/tools/promparse, built from Go modules into
// the cache on first use), so the tests see exactly what a Prometheus server would scrape.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CACHE_DIR } from '../cluster/binaries.js';

export interface Sample {
  labels: Record<string, string>;
  value?: number;
  count?: number;
  sum?: number;
  buckets?: Array<{ le: string; count: number }>;
}
export interface MetricFamily {
  name: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  help: string;
  samples: Sample[];
}

const SOURCE = path.resolve('test/tools/promparse');

function binary(): string {
  const hash = createHash('sha256');
  for (const f of ['main.go', 'go.mod', 'go.sum']) hash.update(fs.readFileSync(path.join(SOURCE, f)));
  const out = path.join(CACHE_DIR, 'tools', `promparse-${hash.digest('hex').slice(0, 12)}`);
  if (!fs.existsSync(out)) {
    const r = spawnSync('go', ['build', '-trimpath', '-o', out, '.'], { cwd: SOURCE, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building the Prometheus parser (test/tools/promparse) failed: ${r.error?.message ?? r.stderr}`);
  }
  return out;
}

export function parsePrometheus(text: string): MetricFamily[] {
  return JSON.parse(execFileSync(binary(), { input: text, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as MetricFamily[];
}

/** Sum over the samples whose labels include `labels`: the value, or the count for histograms. */
export function sample(families: MetricFamily[], name: string, labels: Record<string, string> = {}): number {
  const f = families.find((m) => m.name === name);
  let total = 0;
  for (const s of f?.samples ?? []) {
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value ?? s.count ?? 0;
  }
  return total;
}
