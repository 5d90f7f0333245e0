// TCP listener (RFC 7766): length-framed messages, several queries per connection answered as they complete
// (possibly out of order), an idle timeout, and caps on connections and on queries in flight per connection.
import net from 'node:net';
import { FrameSplitter, frame } from '../dns/framing.js';
import type { Pipeline } from './pipeline.js';

export interface TcpOptions {
  idleTimeoutMs: number;
  maxConnections: number;
  maxInFlightPerConnection: number;
}

export const DEFAULT_TCP_OPTIONS: TcpOptions = { idleTimeoutMs: 10_000, maxConnections: 1000, maxInFlightPerConnection: 100 };

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
    const client = { address: socket.remoteAddress ?? '', family: socket.remoteFamily === 'IPv6' ? (6 as const) : (4 as const) };
    const splitter = new FrameSplitter();
    let inFlight = 0;
    let ended = false;
    const maybeClose = (): void => {
      if (ended && inFlight === 0) socket.end();
    };
    const write = (buf: Buffer | undefined): void => {
      inFlight--;
      if (buf && !socket.destroyed) socket.write(frame(buf));
      if (inFlight < opts.maxInFlightPerConnection && socket.isPaused()) socket.resume();
      maybeClose();
    };
    socket.setTimeout(opts.idleTimeoutMs, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      // Replies to the queries of one read go out in one write (one syscall), not one each.
      socket.cork();
      process.nextTick(() => socket.uncork());
      for (const message of splitter.push(chunk)) {
        inFlight++;
        const reply = pipeline.process(message, 'tcp', client);
        if (reply instanceof Promise) void reply.then(write);
        else write(reply);
      }
      // A client that pipelines faster than we answer waits in its own send buffer, not in our memory.
      if (inFlight >= opts.maxInFlightPerConnection) socket.pause();
    });
    socket.on('end', () => {
      ended = true;
      maybeClose();
    });
    socket.on('error', () => socket.destroy());
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
