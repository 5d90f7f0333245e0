// Hostile traffic against a real `cluster-dns serve` child process on loopback, with its memory watched: the
// patterns of docs/reliability.md, a sampler (RSS from /proc, external memory from the server's /metrics) and
// a canary that must keep being answered; the patterns are in hostile-patterns.ts. Shared by
// test/integration/hostile.test.ts (seconds) and `npm run soak` (minutes). Nothing leaves 127.0.0.1.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { buildQuery, sendRaw } from './dns-client.js';

export interface HostileServer {
  pid: number;
  dns: number;
  metrics: number;
  stop(): Promise<void>;
}

/** Starts the built CLI as the image does (same V8 flags), listeners on free loopback ports. */
export async function startHostileServer(extra: string[] = []): Promise<HostileServer> {
  const cli = path.resolve('dist/src/cli.js');
  // V8 sizes its heap from the memory it may use: in a pod, the cgroup's limit; on a test machine with gigabytes
  // and no limit it lets the heap grow far more between collections. A 256 MiB pod's heap is emulated with
  // --max-old-space-size=128 (docs/reliability.md; the shipped medium Deployment has 320 MiB, a looser case);
  // HOSTILE_NODE_FLAGS replaces it.
  const nodeFlags = (process.env['HOSTILE_NODE_FLAGS'] ?? '--max-old-space-size=128').split(' ').filter(Boolean);
  const args = ['--max-semi-space-size=1', '--expose-gc', ...nodeFlags, cli, 'serve', '--manifests', 'examples', '--no-forward', '--dns-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--health-addr', 'off', '--ready-addr', 'off', ...extra];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let dns = 0;
  let metrics = 0;
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err.slice(-500)}`)), 15_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      err = (err + chunk).slice(-4000);
      for (const m of chunk.matchAll(/"udp":"127\.0\.0\.1:(\d+)"/g)) dns = Number(m[1]);
      for (const m of chunk.matchAll(/"metrics":"127\.0\.0\.1:(\d+)"/g)) metrics = Number(m[1]);
      if (dns && metrics) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${err.slice(-500)}`)));
  });
  return {
    pid: child.pid!,
    dns,
    metrics,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

export interface Sample {
  at: number;
  rss: number;
  external: number;
  heap: number;
}

export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** The server's own /metrics: one gauge's value, or NaN. */
export async function scrapeGauge(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** Samples RSS and external memory every `everyMs` until stopped; a failed scrape is recorded as NaN. */
export function sampler(s: HostileServer, everyMs = 250): { samples: Sample[]; stop(): Promise<void> } {
  const samples: Sample[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const [external, heap] = await Promise.all(['nodejs_external_memory_bytes', 'nodejs_heap_size_total_bytes'].map((n) => scrapeGauge(s.metrics, n).catch(() => Number.NaN)));
      samples.push({ at: Date.now(), rss: rssOf(s.pid), external: external!, heap: heap! });
      await sleep(everyMs);
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** A valid query every `everyMs` over UDP (must be answered) and TCP (answered, or the connection closed). */
export function canary(port: number, everyMs = 200, phase: () => string = () => ''): { failures: string[]; answered: number; stop(): Promise<void> } {
  const state = { failures: [] as string[], answered: 0 };
  let running = true;
  const started = Date.now();
  const done = (async () => {
    for (let id = 1; running; id++) {
      const q = buildQuery('web.demo.svc.cluster.local', 1, { id: id & 0xffff });
      // Where a failure fell: the pattern running when the query was sent, and the time since the canary began.
      const during = phase();
      const when = `sent at ${((Date.now() - started) / 1000).toFixed(1)} s${during ? `, during ${during}` : ''}`;
      const [udp, tcp] = await Promise.all([udpCanary(port, q), tcpCanary(port, q)]);
      if (!udp) state.failures.push(`UDP canary ${id} unanswered after 3 tries of 1 s (${when})`);
      else state.answered++;
      if (tcp === 'hang') state.failures.push(`TCP canary ${id} neither answered nor closed within 3 s (${when})`);
      await sleep(everyMs);
    }
  })();
  return {
    get failures() {
      return state.failures;
    },
    get answered() {
      return state.answered;
    },
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** As a stub resolver asks: a datagram lost in a full socket buffer is sent again (3 tries, 1 s each). */
async function udpCanary(port: number, q: Buffer): Promise<Buffer | undefined> {
  for (let i = 0; i < 3; i++) {
    const r = await sendRaw(port, q, { timeoutMs: 1000 });
    if (r) return r;
  }
  return undefined;
}

/**
 * Answered, or closed: fine. A hang is a connection we accepted that then got neither within 3 s. A connect that
 * waits in a full accept queue (the idle flood) is the kernel's SYN retry, not ours: it may take up to 10 s.
 */
function tcpCanary(port: number, q: Buffer): Promise<'answered' | 'closed' | 'hang'> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    let timer = setTimeout(() => finish('hang'), 10_000);
    const finish = (r: 'answered' | 'closed' | 'hang'): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    s.on('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish('hang'), 3000);
      s.write(framed(q));
    });
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) finish('answered');
    });
    s.on('error', () => finish('closed'));
    s.on('close', () => finish('closed'));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function framed(p: Buffer, len = p.length): Buffer {
  const b = Buffer.allocUnsafe(2 + p.length);
  b.writeUInt16BE(len & 0xffff, 0);
  p.copy(b, 2);
  return b;
}

export function summary(samples: Sample[]): { rss: number; external: number; heap: number } {
  let rss = 0;
  let external = 0;
  let heap = 0;
  for (const s of samples) {
    rss = Math.max(rss, s.rss);
    if (!Number.isNaN(s.external)) external = Math.max(external, s.external);
    if (!Number.isNaN(s.heap)) heap = Math.max(heap, s.heap);
  }
  return { rss, external, heap };
}

/** The peaks under the normal loads of RUN_ORDER (hostile-patterns.ts), and a later peak as ratios of them. */
export class NormalPeaks {
  private udp = 0;
  private any = 0;

  /** Takes a pattern's peak RSS if the pattern is a normal load. */
  see(name: string, rss: number): void {
    if (name === 'normal load') this.udp = rss;
    if (name.startsWith('normal load')) this.any = Math.max(this.any, rss);
  }

  /** `rss` against the larger normal load and against the normal load over UDP, as docs/reliability.md reports it. */
  ratios(rss: number): string {
    return `${(rss / this.any).toFixed(2)}x normal load, ${(rss / this.udp).toFixed(2)}x normal load over UDP`;
  }
}

export const MB = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MiB`;
