// Free loopback ports for the control-plane processes.
//
// The kernel picks a free port when we bind port 0; we release it and hand the number to a child process. Another
// process may grab it in between, so callers retry a component whose log says "address already in use"
// (see isPortClash). Numbers already handed out in this process are never handed out again, so two of our own
// components cannot race each other for the same port. Linux tends to offer the port just released again, so a
// port we have already handed out is kept bound while we ask again: the kernel then has to pick another one.
// DNS servers take the number on UDP too, where this process's own clients (dig, the bench's pollers) get their
// ephemeral ports from the same range, so a port is only handed out when it is free on UDP as well.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

const handedOut = new Set<number>();

function listenOnZero(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve(server));
  });
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

/** Whether 127.0.0.1:port can be bound on UDP right now. */
export function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ address: '127.0.0.1', port, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1, free on TCP and UDP a moment ago, that this process has not handed out before. */
export async function freePort(): Promise<number> {
  const held: Server[] = [];
  try {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const server = await listenOnZero();
      const port = portOf(server);
      if (port > 0 && !handedOut.has(port) && (await udpFree(port))) {
        handedOut.add(port);
        await close(server);
        return port;
      }
      held.push(server);
    }
    throw new Error('could not find a port free on TCP and UDP on 127.0.0.1');
  } finally {
    await Promise.all(held.map(close));
  }
}

/** Whether a component's log shows it died because its port was taken after we picked it. */
export function isPortClash(log: string): boolean {
  return /address already in use|EADDRINUSE/i.test(log);
}

/**
 * Runs `start` (which picks its ports with freePort) again, up to `attempts` times, when it failed because one of
 * its ports was taken between freePort and the bind: any process on the machine may take any port at any time.
 * Any other failure is thrown at once.
 */
export async function onFreePorts<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= attempts || !isPortClash(String(err))) throw err;
    }
  }
}
