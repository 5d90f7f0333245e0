// The abusive traffic patterns of docs/reliability.md, and the normal load they are compared with. Each one
// sends to a server on 127.0.0.1 until its deadline or its count, whichever comes first.
import dgram from 'node:dgram';
import net from 'node:net';
import { FrameSplitter } from '../../src/dns/framing.js';
import { buildQuery } from './dns-client.js';
import { framed, sleep } from './hostile.js';
import { type Rng, mutatedQuery, randomPacket, validQuery, vocabularyQuery } from './packets.js';

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

/**
 * Mutated, random and valid datagrams, at most 25,000 a second (batches of 50 every 2 ms) and at most 200
 * unanswered at a time, replies read and thrown away. The window keeps the sender at what the server answers on
 * whatever machine runs it (a fixed rate of 25,000 a second was past it on a slower 2-core machine): past that the
 * kernel drops datagrams whatever they hold, the canary's too, a volume limit no memory bound changes. Datagrams
 * the server drops unanswered (by design, for some garbage) leave the window as soon as replies stop for 5 ms.
 */
const udpGarbage: Pattern = async (port, rng, until, count) => {
  const s = dgram.createSocket('udp4');
  let unanswered = 0;
  let lastReply = Date.now();
  s.on('message', () => {
    unanswered = Math.max(0, unanswered - 1);
    lastReply = Date.now();
  });
  s.on('error', () => {});
  let sent = 0;
  while (sent < count && Date.now() < until) {
    for (let i = 0; i < 50 && unanswered < 200 && sent < count; i++, sent++, unanswered++) s.send(anyPacket(rng, sent), port, '127.0.0.1');
    await sleep(2);
    if (Date.now() - lastReply >= 5) unanswered = 0; // what is still out after 5 ms without a reply was dropped, not queued
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

/**
 * Valid queries pipelined over TCP by clients that read every reply: 16 connections with 100 queries outstanding
 * each, the next 100 written when the last reply came (a node-local cache or a resolver that forwards over TCP).
 * It drives the server as hard as the abusive TCP patterns do, without the abuse: what memory that rate of work
 * takes is the part of their cost that is not theirs (docs/reliability.md).
 */
export const normalTcpLoad: Pattern = async (port, rng, until, count) => {
  let sent = 0;
  await connections(port, until, 16, 16, (s, done) => {
    const replies = new FrameSplitter();
    let outstanding = 0;
    const more = (): void => {
      if (Date.now() >= until || sent >= count) return done();
      const n = Math.min(100, count - sent);
      sent += n;
      outstanding += n;
      s.write(Buffer.concat(Array.from({ length: n }, () => framed(validQuery(rng)))));
    };
    s.on('data', (d: Buffer) => {
      replies.push(d);
      while (replies.next()) outstanding--;
      if (outstanding === 0) more();
    });
    more();
  });
  return sent;
};

/** What the hostile test and the soak run, in order: the normal loads first (the reference), then every abusive pattern. */
export const RUN_ORDER: ReadonlyArray<readonly [string, Pattern]> = [['normal load', normalLoad], ['normal load over TCP', normalTcpLoad], ...Object.entries(PATTERNS)];
