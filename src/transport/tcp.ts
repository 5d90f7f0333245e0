// TCP listener (RFC 7766): length-framed messages, several queries per connection answered as they complete
// (possibly out of order), an idle timeout, and caps on connections and on queries in flight per connection.
//
// Memory is bounded per connection and in total (docs/reliability.md). Replies wait in our memory only while
// the kernel's send buffer is full, i.e. while the client is not reading. Past `maxQueuedBytesPerConnection`
// (or, when all connections together hold `maxQueuedBytes`, as soon as this one holds any) we stop reading from
// that connection until its queue drains: its further queries wait in its own kernel buffers, not ours. A
// client that never reads then sends nothing we see, and the idle timeout closes it. Queries already read but
// not yet run wait in the splitter, as bytes: at most one read's worth, since a paused socket delivers no more data.
import net from 'node:net';
import { FrameBacklog } from '../dns/frame-backlog.js';
import { FrameSplitter, frame } from '../dns/framing.js';
import type { TransportAccounting } from './accounting.js';
import type { Pipeline } from './pipeline.js';

export interface TcpOptions {
  idleTimeoutMs: number;
  maxConnections: number;
  maxInFlightPerConnection: number;
  /** Reply bytes one connection may have waiting before we stop reading from it. */
  maxQueuedBytesPerConnection: number;
  /** Reply bytes (and bytes of incomplete messages) all connections and UDP sockets may have waiting. */
  maxQueuedBytes: number;
}

export const DEFAULT_TCP_OPTIONS: TcpOptions = {
  idleTimeoutMs: 10_000,
  maxConnections: 1000,
  maxInFlightPerConnection: 100,
  maxQueuedBytesPerConnection: 256 * 1024,
  maxQueuedBytes: 16 * 1024 * 1024,
};

export interface TcpListener {
  address: { address: string; port: number };
  connections(): number;
  close(): Promise<void>;
}

export async function listenTcp(pipeline: Pipeline, host: string, port: number, opts: TcpOptions, onError: (err: Error) => void): Promise<TcpListener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    if (sockets.size >= opts.maxConnections) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    serveConnection(socket, pipeline, opts, pipeline.transport);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('error', onError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as net.AddressInfo;
  return {
    address: { address: addr.address, port: addr.port },
    connections: () => sockets.size,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.end();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 1000).unref();
      }),
  };
}

/** Queries of one connection run in one turn of the event loop, at most. */
const TURN = 64;

function serveConnection(socket: net.Socket, pipeline: Pipeline, opts: TcpOptions, acct: TransportAccounting): void {
  const client = { address: socket.remoteAddress ?? '', family: socket.remoteFamily === 'IPv6' ? (6 as const) : (4 as const) };
  // Queries read but not yet run, as bytes (dns/framing.ts), and the incomplete one after them.
  const splitter = new FrameSplitter();
  // Replies that arrive while the stream is behind wait here, as bytes only (dns/frame-backlog.ts).
  const backlog = new FrameBacklog();
  let inFlight = 0;
  let ended = false;
  let gone = false;
  let pausedForBytes = false;
  /** What this connection has added to acct.queuedBytes (its write queue, and what it sent that has not run). */
  let counted = 0;

  const recount = (): void => {
    const now = gone ? 0 : queued() + splitter.buffered;
    acct.queuedBytes += now - counted;
    counted = now;
  };
  // Under the global limit only connections that are really behind pause: `writableNeedDrain` (a write was
  // refused by the kernel buffer and the queue is past 16 KiB) is also what guarantees a 'drain' to resume on.
  const queued = (): number => socket.writableLength + backlog.bytes;
  const overBudget = (): boolean =>
    queued() > opts.maxQueuedBytesPerConnection || (acct.queuedBytes > opts.maxQueuedBytes && socket.writableNeedDrain);
  // A client that half-closed after its queries still gets every answer: replies waiting in the backlog are written
  // at the next 'drain', which a stream that is ending no longer emits, so the end waits for the backlog to empty.
  const maybeClose = (): void => {
    if (ended && inFlight === 0 && !splitter.ready && backlog.count === 0 && !gone) socket.end();
  };
  const write = (buf: Buffer | undefined): void => {
    inFlight--;
    if (gone || socket.destroyed) {
      if (buf) acct.dropped.tcp++;
      return;
    }
    if (!buf) return;
    if (queued() + buf.length > 4 * opts.maxQueuedBytesPerConnection) {
      // Answers that were already on their way when we paused (forwarded queries) pile up behind a client that
      // does not read: past four times the limit, it is not coming back.
      acct.closed++;
      acct.dropped.tcp++;
      socket.destroy();
      return;
    }
    // Behind: a 'drain' is coming, and the backlog is written then, before anything newer.
    if (socket.writableNeedDrain) backlog.push(buf);
    else socket.write(frame(buf));
  };
  let later = false;
  const run = (): void => {
    let turn = 0;
    while (splitter.ready && !gone && !socket.destroyed) {
      if (inFlight >= opts.maxInFlightPerConnection) break;
      if (++turn > TURN) {
        // One connection's pipelined queries may not hold the event loop: the rest wait for the next turn, so a
        // client that keeps the kernel's buffers full cannot delay every other client's answer by seconds.
        if (!later) {
          later = true;
          setImmediate(() => {
            later = false;
            socket.cork(); // as for a read: this turn's replies in one write
            process.nextTick(() => socket.uncork());
            run();
            maybeClose();
          });
        }
        break;
      }
      if (overBudget()) {
        if (!pausedForBytes) acct.paused++;
        pausedForBytes = true;
        break;
      }
      const message = splitter.next()!;
      inFlight++;
      const reply = pipeline.process(message, 'tcp', client);
      if (reply instanceof Promise) {
        void reply.then((buf) => {
          write(buf);
          recount();
          run();
          maybeClose();
        });
      } else write(reply);
    }
    recount();
    // A client that pipelines faster than we answer waits in its own send buffer, not in our memory.
    if (splitter.ready || inFlight >= opts.maxInFlightPerConnection) socket.pause();
    else if (socket.isPaused() && !gone) socket.resume();
  };

  socket.setTimeout(opts.idleTimeoutMs, () => {
    if (pausedForBytes) acct.closed++; // idle because it never read what we sent
    socket.destroy();
  });
  socket.on('data', (chunk: Buffer) => {
    // Replies to the queries of one read go out in one write (one syscall), not one each.
    socket.cork();
    process.nextTick(() => socket.uncork());
    splitter.push(chunk);
    recount();
    if (acct.queuedBytes > opts.maxQueuedBytes && splitter.partial) {
      // An incomplete message (up to 64 KiB) would take memory that is already spoken for: close, as a busy
      // server may (RFC 7766 §6.2.3); the client can retry.
      acct.closed++;
      socket.destroy();
      return;
    }
    run();
    maybeClose();
  });
  socket.on('drain', () => {
    if (backlog.count) for (const b of backlog.take()) socket.write(b);
    pausedForBytes = false;
    run();
    maybeClose();
  });
  socket.on('end', () => {
    ended = true;
    maybeClose();
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    gone = true;
    // Queries read but never run are simply not computed: nobody is left to read their answers.
    acct.dropped.tcp += splitter.discard();
    acct.dropped.tcp += backlog.count;
    backlog.take();
    recount();
  });
}
