// Hostile traffic against a real `cluster-dns serve` child process on loopback, with its memory watched: the
// patterns of docs/reliability.md, a sampler (RSS from /proc, external memory from the server's /metrics) and
// a canary that must keep being answered. Shared by test/integration/hostile.test.ts (seconds) and
// `npm run soak` (minutes). Every loop is bounded by a deadline and a count; nothing leaves 127.0.0.1.
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { buildQuery, sendRaw } from './dns-client.js';
import { Rng, mutatedQuery, randomPacket, validQuery, vocabularyQuery } from './packets.js';

export interface HostileServer {
  pid: number;
  dns: number;
  metrics: number;
  stop(): Promise<void>;
}

/** Starts the built CLI as the image does (same V8 flags), listeners on free loopback ports. */
export async function startHostileServer(extra: string[] = []): Promise<HostileServer> {
  const cli = path.resolve('dist/src/cli.js');
  // V8 sizes its heap from the memory it may use, which in the pod is the cgroup's 256 MiB limit; on a test
  // machine with gigabytes and no limit it lets the heap grow far more between collections. The pod's heap
  // limit is emulated with --max-old-space-size=128 (docs/reliability.md); HOSTILE_NODE_FLAGS replaces it.
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
export function canary(port: number, everyMs = 200): { failures: string[]; answered: number; stop(): Promise<void> } {
  const state = { failures: [] as string[], answered: 0 };
  let running = true;
  const done = (async () => {
    for (let id = 1; running; id++) {
      const q = buildQuery('web.demo.svc.cluster.local', 1, { id: id & 0xffff });
      const [udp, tcp] = await Promise.all([udpCanary(port, q), tcpCanary(port, q)]);
      if (!udp) state.failures.push(`UDP canary ${id} unanswered after 3 tries of 1 s`);
      else state.answered++;
      if (tcp === 'hang') state.failures.push(`TCP canary ${id} neither answered nor closed within 3 s`);
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

/** A pattern sends until `until` (ms since epoch) or `count` packets/connections, and says how many it sent. */
export type Pattern = (port: number, rng: Rng, until: number, count: number) => Promise<number>;

/** One packet of the fuzz generators' mix, lower-cased names made distinct now and then (they fill caches). */
function anyPacket(rng: Rng, seq: number): Buffer {
  const r = rng.int(10);
  if (r < 3) return mutatedQuery(rng);
  if (r < 4) return randomPacket(rng);
  if (r < 6) return vocabularyQuery(rng);
  if (r < 8) return buildQuery(`h${seq.toString(36)}.demo.svc.cluster.local`, rng.pick([1, 28, 33, 255]), { id: rng.int(0x10000), edns: rng.chance(0.5) ? 4096 : undefined });
  return validQuery(rng);
}

/** Mutated, random and valid datagrams in batches; replies are read and thrown away. */
const udpGarbage: Pattern = async (port, rng, until, count) => {
  const s = dgram.createSocket('udp4');
  s.on('message', () => {});
  s.on('error', () => {});
  let sent = 0;
  for (let seq = 0; sent < count && Date.now() < until; seq++) {
    for (let i = 0; i < 200 && sent < count; i++, sent++) s.send(anyPacket(rng, sent), port, '127.0.0.1');
    await sleep(2);
  }
  await new Promise<void>((r) => s.close(() => r()));
  return sent;
};

/** Connections run `parallel` at a time; each one is what `one` does with it. */
async function connections(port: number, until: number, count: number, parallel: number, one: (s: net.Socket, done: () => void) => void): Promise<number> {
  let opened = 0;
  const worker = async (): Promise<void> => {
    while (opened < count && Date.now() < until) {
      opened++;
      await new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        const timer = setTimeout(() => s.destroy(), Math.max(100, until - Date.now() + 500));
        s.on('error', () => {});
        s.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
        s.on('connect', () => one(s, () => s.destroy()));
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return opened;
}

const burst = (rng: Rng, n: number, seq: number): Buffer => Buffer.concat(Array.from({ length: n }, (_, i) => framed(anyPacket(rng, seq * n + i))));

/** ~200 pipelined, partly malformed queries in one write, then close at once (the pattern of issue 14). */
const pipelinedThenClose: Pattern = (port, rng, until, count) =>
  connections(port, until, count, 16, (s) => {
    s.resume();
    s.end(burst(rng, 200, rng.u32()));
  });

/** The same burst, then a reset while the replies are being written. */
const resetMidReply: Pattern = (port, rng, until, count) =>
  connections(port, until, count, 16, (s) => {
    s.write(burst(rng, 200, rng.u32()));
    setTimeout(() => s.resetAndDestroy(), rng.int(3));
  });

/** 64 connections writing bursts every 2 ms and never reading a reply, until the deadline or 20 s each. */
const neverReads: Pattern = (port, rng, until, count) =>
  connections(port, until, count, 64, (s, done) => {
    s.pause();
    const payload = burst(rng, 200, rng.u32());
    const iv = setInterval(() => s.write(payload), 2);
    setTimeout(() => {
      clearInterval(iv);
      done();
    }, Math.min(20_000, Math.max(0, until - Date.now())));
  });

/** Length prefixes that promise more than ever comes (up to 64 KiB), then silence until the idle timeout. */
const lyingLengths: Pattern = (port, rng, until, count) =>
  connections(port, until, count, 64, (s) => {
    s.resume();
    s.write(framed(rng.bytes(rng.range(0, 200)), rng.range(201, 65535)));
  });

/** A valid query written one byte at a time, 1 ms apart. */
const byteAtATime: Pattern = (port, rng, until, count) =>
  connections(port, until, count, 16, (s, done) => {
    s.resume();
    const bytes = framed(validQuery(rng));
    let i = 0;
    const iv = setInterval(() => {
      if (i < bytes.length) s.write(bytes.subarray(i, ++i));
      else {
        clearInterval(iv);
        setTimeout(done, 20);
      }
    }, 1);
  });

/** Full 64 KiB frames of random bytes, a few per connection. */
const bigFrames: Pattern = (port, rng, until, count) =>
  connections(port, until, count, 8, (s, done) => {
    s.resume();
    s.write(Buffer.concat([framed(rng.bytes(65535)), framed(rng.bytes(65535)), framed(validQuery(rng))]), () => setTimeout(done, 50));
  });

/** Idle and half-open connections, more than --tcp-max-connections, held until the deadline. */
const idleFlood: Pattern = (port, rng, until, count) =>
  connections(port, until, count, 400, (s, done) => {
    if (rng.chance(0.5)) s.end(); // half-open: our side is done, the server's may still write
    s.resume();
    setTimeout(done, Math.max(0, until - Date.now()));
  });

export const PATTERNS: Record<string, Pattern> = {
  'udp garbage (mutated, random, distinct names)': udpGarbage,
  'tcp pipelined bursts then close': pipelinedThenClose,
  'tcp reset in the middle of replies': resetMidReply,
  'tcp clients that never read': neverReads,
  'tcp lying length prefixes': lyingLengths,
  'tcp byte-at-a-time writes': byteAtATime,
  'tcp 64 KiB frames': bigFrames,
  'tcp idle and half-open flood past the cap': idleFlood,
};

/** Valid queries over UDP, 100 outstanding at a time, replies read: the normal load to compare with. */
export const normalLoad: Pattern = async (port, rng, until, count) => {
  const s = dgram.createSocket('udp4');
  let outstanding = 0;
  let sent = 0;
  let wake: (() => void) | undefined;
  s.on('message', () => {
    outstanding--;
    wake?.();
  });
  s.on('error', () => {});
  while (sent < count && Date.now() < until) {
    while (outstanding < 100 && sent < count) {
      outstanding++;
      sent++;
      s.send(validQuery(rng), port, '127.0.0.1');
    }
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 50);
    });
    if (outstanding > 0 && outstanding === 100) outstanding = Math.max(0, outstanding - 10); // lost replies
  }
  await new Promise<void>((r) => s.close(() => r()));
  return sent;
};

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

export const MB = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MiB`;
