// The serving core built from one configuration: source → state → index → handlers (cluster, forwarder, loop
// detector). A configuration reload builds a new core and swaps it in; the listeners outlive it.
import os from 'node:os';
import type { ClusterState } from '../cluster/state.js';
import { ConfigError, UpstreamConfigError } from '../base/errors.js';
import type { Config, ListenAddress } from '../config/config.js';
import type { TtlCaps } from '../dns/cache-ttl.js';
import { RCODE_NAMES } from '../dns/constants.js';
import type { Reply } from '../dns/message.js';
import { PlainHistogram, exponentialBuckets } from '../ops/counters.js';
import { ResponseCache } from '../forward/cache.js';
import { Forwarder } from '../forward/forwarder.js';
import { LoopDetector } from '../forward/loop.js';
import { resolveUpstreams } from '../forward/upstreams.js';
import { addressText, isLoopback, stubDomainText } from '../net/address.js';
import { type Clock, systemClock } from '../base/clock.js';
import type { Logger } from '../base/log.js';
import { parseIP } from '../net/ip.js';
import { ZoneIndex } from '../records/zone-index.js';
import { PodAddresses } from '../cluster/pod-addresses.js';
import { AutopathHandler } from '../resolve/autopath-handler.js';
import { ClusterHandler } from '../resolve/cluster.js';
import type { Handler } from '../resolve/handler.js';
import { withUniformTtl } from '../resolve/uniform-ttl.js';
import { shuffleAddresses } from '../resolve/loadbalance.js';
import { type Source, dnsKinds, startSource, waitForSync } from '../sources/index.js';

export interface Core {
  config: Config;
  state: ClusterState;
  index: ZoneIndex;
  source: Source;
  forwarder: Forwarder | undefined;
  loop: LoopDetector | undefined;
  /** coredns_proxy_request_duration_seconds, per upstream and rcode (a new one with each core, as the forwarder). */
  proxyDuration: PlainHistogram | undefined;
  handlers: Handler[];
  /** --autopath's handler (its counts and health), when on. */
  autopath: AutopathHandler | undefined;
  transform: ((reply: Reply) => Reply) | undefined;
  stop(): void;
}

export interface CoreHooks {
  onProgrammed?: (serviceKind: string, seconds: number) => void;
  extraHandlers?: Handler[];
  /** Cache lifetimes, health checks and loop probes run on it (tests pass a fake one). */
  clock?: Clock;
}

/** The addresses NS and ns.dns.<zone> answer with: what we listen on, without loopback (as CoreDNS). */
export function localAddresses(listen: ListenAddress): string[] {
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

/** --cache-cap-replies: the caps of CoreDNS's cache TTL rules (dns/cache-ttl.ts), or undefined when off. */
function ttlCaps(config: Config): TtlCaps | undefined {
  if (!config.cacheCapReplies) return undefined;
  return { success: config.cacheTtl, denial: config.cacheNegativeTtl, servfail: config.cacheServfailTtl, min: config.cacheMinTtl };
}

/** The forwarder and its cache, or undefined with --no-forward. Upstream problems are configuration errors. */
function createForwarder(config: Config, log: Logger, clock: Clock): { forwarder: Forwarder; loop: LoopDetector; proxyDuration: PlainHistogram } | undefined {
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
    uniform: ttlCaps(config),
    noSuccess: config.noCacheSuccess,
    noDenial: config.noCacheDenial,
  }, () => clock.now());
  const loop = new LoopDetector(log.child({ component: 'loop' }), clock);
  const proxyDuration = new PlainHistogram(['proxy_name', 'to', 'rcode'], exponentialBuckets(0.00025, 2, 16));
  const forwarder = new Forwarder(
    upstreams,
    config.stubDomains,
    {
      policy: config.policy,
      tryTimeoutMs: config.upstreamTimeout,
      queryTimeoutMs: Math.max(config.upstreamTimeout, 5000),
      maxConcurrent: config.maxConcurrent,
      maxFails: config.maxFails,
      healthCheckMs: config.healthCheckInterval,
      clock,
      onExchange: (to, rcode, seconds) => proxyDuration.observe(['forward', to, RCODE_NAMES[rcode] ?? String(rcode)], seconds),
      relayOptions: !config.cacheCapReplies,
    },
    cache,
    log.child({ component: 'forward' }),
    loop,
  );
  log.info('forwarding', { upstreams: upstreams.map(addressText), policy: config.policy, stubDomains: config.stubDomains.map(stubDomainText) });
  return { forwarder, loop, proxyDuration };
}

export async function buildCore(config: Config, log: Logger, hooks: CoreHooks = {}): Promise<Core> {
  const clock = hooks.clock ?? systemClock;
  const forwarding = createForwarder(config, log, clock);
  const podAddresses = config.autopath ? new PodAddresses(clock, { reuseWindowMs: config.autopathReuseWindow * 1000 }) : undefined;
  let started: { state: ClusterState; source: Source };
  try {
    started = await startSource(config, log, { watch: true, kinds: dnsKinds(config.pods), onProgrammed: hooks.onProgrammed, podAddresses });
  } catch (err) {
    forwarding?.forwarder.close();
    throw err;
  }
  const { state, source } = started;
  log.info('source started', { source: source.describe() });
  const index = new ZoneIndex(state, { endpointPodNames: config.endpointPodNames, ignoreEmptyService: config.ignoreEmptyService });
  // Each Service is built once, when the first listing is complete, instead of once per list it appears in.
  index.deferUntil(source.whenSynced());
  const cluster = new ClusterHandler(index, {
    zones: config.zones,
    ttl: config.ttl,
    pods: config.pods,
    localIPs: localAddresses(config.dnsAddr),
    synced: () => source.synced(),
    // --fallthrough (kubeadm's: the reverse zones, so PTR lookups of outside addresses go to the forwarder).
    fallthrough: forwarding ? config.fallthrough : [],
    external: forwarding ? (name, type, bits) => forwarding.forwarder.lookup(name, type, bits) : undefined,
  });
  const caps = ttlCaps(config);
  const capped = (h: Handler): Handler => (caps ? withUniformTtl(h, caps) : h);
  const rest = [capped(cluster.handle), ...(hooks.extraHandlers ?? []), ...(forwarding ? [capped(forwarding.forwarder.handle)] : [])];
  const autopath = podAddresses ? createAutopath(config, source, podAddresses, rest, clock) : undefined;
  return {
    config,
    state,
    index,
    source,
    forwarder: forwarding?.forwarder,
    loop: forwarding?.loop,
    proxyDuration: forwarding?.proxyDuration,
    handlers: [...(forwarding ? [forwarding.loop.handle] : []), ...(autopath ? [autopath.handle] : []), ...rest],
    autopath,
    transform: config.loadbalance === 'round_robin' ? shuffleAddresses : undefined,
    stop: () => {
      source.stop();
      forwarding?.forwarder.close();
    },
  };
}

/** --autopath in front of `rest`, trusting addresses only while the Pod watch is connected and current. */
function createAutopath(config: Config, source: Source, addresses: PodAddresses, rest: Handler[], clock: Clock): AutopathHandler {
  const podWatch = () => source.watches().find((w) => w.kind === 'Pod')?.status;
  const api = source.watches().length > 0; // the manifests source has no watch: its files are the truth
  return new AutopathHandler(rest, {
    zones: config.zones,
    addresses,
    watch: api ? () => ({ connected: podWatch()?.connected ?? false, lastError: podWatch()?.lastError }) : undefined,
    maxLagMs: config.autopathMaxLag * 1000,
    clock,
  });
}

/**
 * The first full list and the index build make a lot of short-lived garbage (response bytes, API objects, build
 * scratch) that V8 would otherwise keep mapped for a long time: with --expose-gc (set by the bin), one full
 * collection once the index is built gives it back (about 90 ms at 10,000 Services, after readiness).
 */
function releaseMemory(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Waits for the first sync up to `syncTimeout` (CoreDNS startup_timeout), then logs it whenever it happens. */
export async function awaitSync(core: Core, log: Logger): Promise<void> {
  const t0 = Date.now();
  const done = (): void => {
    log.info('initial sync done', { ms: Date.now() - t0, ...core.state.counts() });
    // The index builds the rest in the background from here (records/zone-index.ts); each lookup meanwhile
    // builds its own Service first, so the server is ready now.
    core.index.whenBuilt(() => {
      log.info('record index built', { ms: Date.now() - t0, names: core.index.recordCount() });
      releaseMemory();
    });
  };
  if (await waitForSync(core.source, core.config.syncTimeout * 1000)) return done();
  log.warn('not synced yet; serving, with SERVFAIL instead of NXDOMAIN until synced', { waitedMs: Date.now() - t0 });
  void core.source.whenSynced().then(done);
}
