// Starts cluster-dns in-process on a free loopback port, exactly as `cluster-dns serve` composes it.
import { loadConfig } from '../../src/config/config.js';
import { silentLogger } from '../../src/base/log.js';
import { type RunningServer, startServer } from '../../src/server/server.js';

export interface TestServer extends RunningServer {
  port: number;
}

export async function startTestServer(args: string[]): Promise<TestServer> {
  // Every listener on a free loopback port, so several servers can run side by side.
  const config = loadConfig('serve', ['--dns-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0', '--ready-addr', '127.0.0.1:0', '--no-forward', ...args], {});
  const server = await startServer(config, silentLogger);
  return Object.assign(server, { port: server.udp[0]!.address.port });
}
