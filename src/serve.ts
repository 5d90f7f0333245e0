// Composition root of `cluster-dns serve`: source → cluster state → record index → handlers → pipeline →
// UDP/TCP listeners, plus signal handling. Everything is created here and nowhere else.
import os from 'node:os';
import type { Config, ListenAddress } from './config.js';
import type { Logger } from './log.js';
import { parseIP } from './records/ip.js';
import { ZoneIndex } from './records/zone-index.js';
import { ClusterHandler } from './resolve/cluster.js';
import type { Handler } from './resolve/handler.js';
import { startSource, waitForSync } from './sources/index.js';
import { Pipeline } from './transport/pipeline.js';
import { listenTcp, type TcpListener } from './transport/tcp.js';
import { listenUdp, type UdpListener } from './transport/udp.js';

export interface RunningServer {
  udp: UdpListener[];
  tcp: TcpListener[];
  index: ZoneIndex;
  pipeline: Pipeline;
  synced(): boolean;
  stop(): Promise<void>;
}

/** The addresses NS and ns.dns.<zone> answer with: what we listen on, without loopback (as CoreDNS). */
export function localAddresses(listen: ListenAddress): string[] {
  const isLoopback = (ip: string): boolean => ip.startsWith('127.') || ip === '::1';
  if (listen.host !== '' && listen.host !== '0.0.0.0' && listen.host !== '::') {
    const ip = parseIP(listen.host);
    return ip && !isLoopback(ip.text) ? [ip.text] : [];
  }
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && !a.address.startsWith('fe80:')) out.push(parseIP(a.address)?.text ?? a.address);
  }
  return out;
}

/** Hosts to bind for a listen address: an empty host is every IPv6 and IPv4 address (one dual-stack socket). */
function bindHosts(listen: ListenAddress): string[] {
  if (listen.host === '') return ['::'];
  return [listen.host === 'localhost' ? '127.0.0.1' : listen.host];
}

export async function startServer(config: Config, log: Logger, extraHandlers: Handler[] = []): Promise<RunningServer> {
  const { state, source } = await startSource(config, log, { watch: true });
  log.info('source started', { source: source.describe() });
  const index = new ZoneIndex(state, { endpointPodNames: config.endpointPodNames, ignoreEmptyService: config.ignoreEmptyService });
  const cluster = new ClusterHandler(index, {
    zones: config.zones,
    ttl: config.ttl,
    pods: config.pods,
    localIPs: localAddresses(config.dnsAddr),
    synced: () => source.synced(),
    fallthrough: [],
  });
  const pipeline = new Pipeline({
    handlers: [cluster.handle, ...extraHandlers],
    onHandlerError: (err, query) => log.error('handler failed; answered SERVFAIL', { error: err, name: query.name, type: query.type }),
  });

  // As CoreDNS's startup_timeout: wait a little for the first sync so early queries are not SERVFAIL.
  const t0 = Date.now();
  const synced = await waitForSync(source, config.syncTimeout * 1000);
  if (synced) log.info('initial sync done', { ms: Date.now() - t0, ...state.counts(), names: index.recordCount() });
  else {
    log.warn('not synced yet; serving, with SERVFAIL instead of NXDOMAIN until synced', { waitedMs: Date.now() - t0 });
    const timer = setInterval(() => {
      if (!source.synced()) return;
      clearInterval(timer);
      log.info('initial sync done', { ms: Date.now() - t0, ...state.counts(), names: index.recordCount() });
    }, 100);
    timer.unref();
  }

  const onError = (err: Error): void => log.warn('socket error', { error: err.message });
  const udp: UdpListener[] = [];
  const tcp: TcpListener[] = [];
  try {
    for (const host of bindHosts(config.dnsAddr)) {
      const u = await listenUdp(pipeline, host, config.dnsAddr.port, onError);
      udp.push(u);
      // TCP on the very port UDP got (matters when the configured port is 0).
      const t = await listenTcp(pipeline, host, u.address.port, {
        idleTimeoutMs: config.tcpIdleTimeout * 1000,
        maxConnections: config.tcpMaxConnections,
        maxInFlightPerConnection: 100,
      }, onError);
      tcp.push(t);
      log.info('listening', { udp: `${u.address.address}:${u.address.port}`, tcp: `${t.address.address}:${t.address.port}` });
    }
  } catch (err) {
    source.stop();
    for (const l of [...udp, ...tcp]) await l.close();
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot listen on ${config.dnsAddr.host || '*'}:${config.dnsAddr.port}: ${e.code ?? e.message}${e.code === 'EACCES' ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : ''}`);
  }

  return {
    udp,
    tcp,
    index,
    pipeline,
    synced: () => source.synced(),
    stop: async () => {
      source.stop();
      await Promise.all([...udp, ...tcp].map((l) => l.close()));
    },
  };
}
