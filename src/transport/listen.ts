// Binds the DNS listeners for one address: UDP and TCP on the same port; an empty host is one dual-stack
// socket (every IPv6 and IPv4 address), falling back to IPv4 where the kernel has no IPv6.
import { ListenError } from '../base/errors.js';
export { ListenError };
import type { ListenAddress } from '../config/config.js';
import type { Logger } from '../base/log.js';
import type { Pipeline } from './pipeline.js';
import { type TcpListener, type TcpOptions, listenTcp } from './tcp.js';
import { type UdpListener, listenUdp } from './udp.js';


export interface DnsListeners {
  address: ListenAddress;
  udp: UdpListener[];
  tcp: TcpListener[];
  close(): Promise<void>;
}

async function bindPair(pipeline: Pipeline, host: string, port: number, tcpOptions: TcpOptions, onError: (e: Error) => void): Promise<[UdpListener, TcpListener]> {
  // Port 0 (tests): UDP picks a port and TCP takes the same one, which may be busy for TCP; try again.
  for (let attempt = 1; ; attempt++) {
    const u = await listenUdp(pipeline, host, port, tcpOptions.maxQueuedBytes, onError);
    try {
      return [u, await listenTcp(pipeline, host, u.address.port, tcpOptions, onError)];
    } catch (err) {
      await u.close();
      if (port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 10) throw err;
    }
  }
}

export async function listenDns(pipeline: Pipeline, address: ListenAddress, tcpOptions: TcpOptions, log: Logger): Promise<DnsListeners> {
  const onError = (err: Error): void => log.warn('socket error', { error: err.message });
  const host = address.host === '' ? '::' : address.host === 'localhost' ? '127.0.0.1' : address.host;
  let pair: [UdpListener, TcpListener];
  try {
    pair = await bindPair(pipeline, host, address.port, tcpOptions, onError);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (address.host === '' && (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL')) {
      pair = await bindPair(pipeline, '0.0.0.0', address.port, tcpOptions, onError);
    } else {
      throw new ListenError(`cannot listen for DNS on ${address.host || '*'}:${address.port}: ${e.code ?? e.message}${e.code === 'EACCES' ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : ''}`);
    }
  }
  const [u, t] = pair;
  log.info('listening', { udp: `${u.address.address}:${u.address.port}`, tcp: `${t.address.address}:${t.address.port}` });
  return { address, udp: [u], tcp: [t], close: async () => void (await Promise.all([u.close(), t.close()])) };
}
