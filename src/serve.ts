// Composition root of `cluster-dns serve`: source → cluster state → record index → handlers → pipeline →
// UDP/TCP listeners, plus signal handling. Everything is created here and nowhere else.
import os from 'node:os';
import type { Config, ListenAddress } from './config.js';
import type { Logger } from './log.js';
import { parseIP } from './records/ip.js';
import { ZoneIndex } from './records/zone-index.js';
import { ResponseCache } from './forward/cache.js';
import { Forwarder } from './forward/forwarder.js';
import { LoopDetector } from './forward/loop.js';
import { UpstreamConfigError, addressText, parseStubDomain, resolveUpstreams } from './forward/upstreams.js';
import { ConfigError } from './config.js';
import { ClusterHandler } from './resolve/cluster.js';
import type { Handler } from './resolve/handler.js';
import { startSource, waitForSync } from './sources/index.js';
import { Pipeline } from './transport/pipeline.js';
import { listenTcp, type TcpListener } from './transport/tcp.js';
import { listenUdp, type UdpListener } from './transport/udp.js';

export interface RunningServer {
  forwarder: Forwarder | undefined;
  loop: LoopDetector | undefined;
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

/** The forwarder and its cache, or undefined with --no-forward. Upstream problems are configuration errors. */
function createForwarder(config: Config, log: Logger): { forwarder: Forwarder; loop: LoopDetector } | undefined {
  if (config.noForward) return undefined;
  let upstreams;
  try {
    const resolved = resolveUpstreams(config.upstreams, config.resolvConf);
    if (resolved.note) log.warn(resolved.note);
    upstreams = resolved.upstreams;
  } catch (err) {
    if (err instanceof UpstreamConfigError) throw new ConfigError(`${err.message} (or run with --no-forward)`);
    throw err;
  }
  const cache = new ResponseCache({
    maxEntries: config.cacheSize,
    maxBytes: config.cacheMaxBytes,
    positiveTtl: config.cacheTtl,
    negativeTtl: config.cacheNegativeTtl,
    servfailTtl: config.cacheServfailTtl,
    staleSeconds: config.serveStale ? config.serveStaleWindow : 0,
  });
  const loop = new LoopDetector(log.child({ component: 'loop' }));
  const forwarder = new Forwarder(
    upstreams,
    config.stubDomains.map(parseStubDomain),
    {
      policy: config.policy,
      tryTimeoutMs: config.upstreamTimeout,
      queryTimeoutMs: Math.max(config.upstreamTimeout, 5000),
      maxConcurrent: config.maxConcurrent,
      maxFails: config.maxFails,
      healthCheckMs: config.healthCheckInterval,
    },
    cache,
    log.child({ component: 'forward' }),
    loop,
  );
  log.info('forwarding', { upstreams: upstreams.map(addressText), policy: config.policy, stubDomains: config.stubDomains });
  return { forwarder, loop };
}

export async function startServer(config: Config, log: Logger, extraHandlers: Handler[] = []): Promise<RunningServer> {
  const forwarding = createForwarder(config, log);
  const { state, source } = await startSource(config, log, { watch: true });
  log.info('source started', { source: source.describe() });
  const index = new ZoneIndex(state, { endpointPodNames: config.endpointPodNames, ignoreEmptyService: config.ignoreEmptyService });
  const cluster = new ClusterHandler(index, {
    zones: config.zones,
    ttl: config.ttl,
    pods: config.pods,
    localIPs: localAddresses(config.dnsAddr),
    synced: () => source.synced(),
    // As kubeadm's Corefile: reverse lookups of addresses that are not the cluster's go to the forwarder.
    fallthrough: forwarding ? ['in-addr.arpa', 'ip6.arpa'] : [],
    external: forwarding ? (name, type) => forwarding.forwarder.lookup(name, type) : undefined,
  });
  const pipeline = new Pipeline({
    handlers: [...(forwarding ? [forwarding.loop.handle] : []), cluster.handle, ...extraHandlers, ...(forwarding ? [forwarding.forwarder.handle] : [])],
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
  const tcpOptions = { idleTimeoutMs: config.tcpIdleTimeout * 1000, maxConnections: config.tcpMaxConnections, maxInFlightPerConnection: 100 };
  try {
    for (const host of bindHosts(config.dnsAddr)) {
      // Port 0 (tests): UDP picks a port and TCP takes the same one, which may be busy for TCP; try again.
      for (let attempt = 1; ; attempt++) {
        const u = await listenUdp(pipeline, host, config.dnsAddr.port, onError);
        try {
          const t = await listenTcp(pipeline, host, u.address.port, tcpOptions, onError);
          udp.push(u);
          tcp.push(t);
          log.info('listening', { udp: `${u.address.address}:${u.address.port}`, tcp: `${t.address.address}:${t.address.port}` });
          break;
        } catch (err) {
          await u.close();
          if (config.dnsAddr.port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 10) throw err;
        }
      }
    }
  } catch (err) {
    source.stop();
    forwarding?.forwarder.close();
    for (const l of [...udp, ...tcp]) await l.close();
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot listen on ${config.dnsAddr.host || '*'}:${config.dnsAddr.port}: ${e.code ?? e.message}${e.code === 'EACCES' ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : ''}`);
  }

  // Loop probes go out once we can hear them come back.
  if (forwarding) for (const g of forwarding.forwarder.groups()) for (const u of g.upstreams) forwarding.loop.probe(u);

  return {
    forwarder: forwarding?.forwarder,
    loop: forwarding?.loop,
    udp,
    tcp,
    index,
    pipeline,
    synced: () => source.synced(),
    stop: async () => {
      source.stop();
      forwarding?.forwarder.close();
      await Promise.all([...udp, ...tcp].map((l) => l.close()));
    },
  };
}
