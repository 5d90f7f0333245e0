// Free loopback ports for the control-plane processes.
//
// The kernel picks a free port when we bind port 0; we release it and hand the number to a child process. Another
// process may grab it in between, so callers retry a component whose log says "address already in use"
// (see isPortClash). Numbers already handed out in this process are never handed out again, so two of our own
// components cannot race each other for the same port.
import { createServer } from 'node:net';

const handedOut = new Set<number>();

function bindZero(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago and that this process has not handed out before. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await bindZero();
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('could not find a free TCP port on 127.0.0.1');
}

/** Whether a component's log shows it died because its port was taken after we picked it. */
export function isPortClash(log: string): boolean {
  return /address already in use/i.test(log);
}
