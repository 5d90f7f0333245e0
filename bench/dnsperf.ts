// Runs Debian's dnsperf 2.10 and reads its result. dnsperf has no latency histogram, but with -v it prints one
// line per reply ("> NOERROR name A 0.000123", latency in seconds last); those lines go to a file and give p50/p99.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';

export interface DnsperfOptions {
  port: number;
  queryFile: string;
  seconds: number;
  tcp: boolean;
  clients: number;
  outstanding: number;
  /** taskset -c for dnsperf; undefined runs it unpinned. */
  cpus?: string;
  /** Where the verbose output goes (deleted after parsing). */
  outFile: string;
  /** Called as soon as dnsperf has exited, before its output is parsed (to sample CPU counters). */
  afterExit?: () => void;
}

export interface DnsperfResult {
  qps: number;
  sent: number;
  completed: number;
  lost: number;
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  rcodes: Record<string, number>;
  runSeconds: number;
}

/** The nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Latencies (seconds) of the "> RCODE name type latency" lines, sorted. Scans bytes: a run can have 10^6 lines. */
export function verboseLatencies(buf: Buffer): Float64Array {
  let out = new Float64Array(1 << 16);
  let n = 0;
  let lineStart = 0;
  const len = buf.length;
  while (lineStart < len) {
    let end = buf.indexOf(10, lineStart);
    if (end === -1) end = len;
    if (buf[lineStart] === 0x3e /* > */ && buf[lineStart + 1] === 0x20) {
      let sp = end - 1;
      while (sp > lineStart && buf[sp] !== 0x20) sp--;
      const v = Number(buf.toString('latin1', sp + 1, end));
      if (Number.isFinite(v)) {
        if (n === out.length) {
          const bigger = new Float64Array(out.length * 2);
          bigger.set(out);
          out = bigger;
        }
        out[n++] = v;
      }
    }
    lineStart = end + 1;
  }
  return out.subarray(0, n).sort();
}

/** Parses dnsperf's statistics block. */
export function parseSummary(text: string): Omit<DnsperfResult, 'p50Ms' | 'p99Ms'> {
  const num = (re: RegExp): number => {
    const m = re.exec(text);
    if (m === null) throw new Error(`dnsperf output has no ${re.source}:\n${text.slice(-1500)}`);
    return Number(m[1]);
  };
  const rcodes: Record<string, number> = {};
  const codes = /Response codes:\s+(.*)/.exec(text)?.[1] ?? '';
  for (const m of codes.matchAll(/([A-Z]+) (\d+) \(/g)) rcodes[m[1]!] = Number(m[2]);
  return {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    runSeconds: num(/Run time \(s\):\s+([\d.]+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    rcodes,
  };
}

export async function runDnsperf(o: DnsperfOptions): Promise<DnsperfResult> {
  const args = ['-s', '127.0.0.1', '-p', String(o.port), '-d', o.queryFile, '-l', String(o.seconds),
    '-c', String(o.clients), '-q', String(o.outstanding), '-v', ...(o.tcp ? ['-m', 'tcp'] : [])];
  const [cmd, argv] = o.cpus === undefined ? ['dnsperf', args] : ['taskset', ['-c', o.cpus, 'dnsperf', ...args]];
  const fd = openSync(o.outFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(cmd, argv, { stdio: ['ignore', fd, 'pipe'] });
  } finally {
    closeSync(fd); // the child has its own copy
  }
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number | null];
  o.afterExit?.();
  const buf = readFileSync(o.outFile);
  rmSync(o.outFile, { force: true });
  if (code !== 0) throw new Error(`dnsperf exited with ${code}: ${stderr.trim() || buf.toString('utf8').slice(-500)}`);
  // The statistics block follows the per-reply lines (TCP adds a "Connection Statistics:" block after it).
  const tailStart = buf.lastIndexOf('\nStatistics:');
  const summary = parseSummary(buf.toString('utf8', tailStart === -1 ? 0 : tailStart));
  const lat = verboseLatencies(buf);
  return { ...summary, p50Ms: percentile(lat, 50) * 1000, p99Ms: percentile(lat, 99) * 1000 };
}
