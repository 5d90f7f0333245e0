// Composition root of `cluster-dns serve`: a core (source → index → handlers, see core.ts) behind a pipeline
// and listeners that outlive it, the operational endpoints, live reload, and graceful stop.
import { VERSION } from '../base/version.js';
import type { Config, ListenAddress } from '../config/config.js';
import { type Core, buildCore } from './core.js';
import type { Forwarder } from '../forward/forwarder.js';
import type { LoopDetector } from '../forward/loop.js';
import type { Logger } from '../base/log.js';
import { type MetricsText, type OpsServer, type Readiness, startOpsServer } from '../ops/http.js';
import { PlainHistogram, exponentialBuckets } from '../ops/counters.js';
import { QueryMetrics } from '../ops/query-metrics.js';
import { RCODE_NAMES, typeName } from '../dns/constants.js';
import { addressFromReverse } from '../net/ip.js';
import type { ZoneIndex } from '../records/zone-index.js';
import type { Handler } from '../resolve/handler.js';
import { waitForSync } from '../sources/index.js';
import { type DnsListeners, listenDns } from '../transport/listen.js';
import { ReplayCache } from '../dns/replay.js';
import { type FastPath, Pipeline, type QueryEvent } from '../transport/pipeline.js';
import { addressRotations } from '../resolve/loadbalance.js';
import type { TcpListener } from '../transport/tcp.js';
import type { UdpListener } from '../transport/udp.js';

export interface RunningServer {
  readonly config: Config;
  readonly forwarder: Forwarder | undefined;
  readonly loop: LoopDetector | undefined;
  readonly index: ZoneIndex;
  readonly udp: UdpListener[];
  readonly tcp: TcpListener[];
  readonly pipeline: Pipeline;
  readonly ops: OpsServer | undefined;
  synced(): boolean;
  readiness(): Readiness;
  /** Applies a new configuration without dropping queries; false (old one kept) when it cannot be applied. */
  reload(config: Config): Promise<boolean>;
  /** Unready at once, answers for `lameduckMs`, waits for queries in flight, then closes everything. */
  stop(opts?: { lameduckMs?: number }): Promise<void>;
}

const sameAddress = (a: ListenAddress | undefined, b: ListenAddress | undefined): boolean => a?.host === b?.host && a?.port === b?.port;
const tcpOptions = (c: Config) => ({ idleTimeoutMs: c.tcpIdleTimeout * 1000, maxConnections: c.tcpMaxConnections, maxInFlightPerConnection: 100 });

/**
 * The first full list makes a lot of short-lived garbage (response text, API objects) that V8 would otherwise keep
 * mapped for a long time: with --expose-gc (set by the bin), one full collection right after the sync gives it back.
 */
function releaseMemory(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Waits for the first sync up to `syncTimeout` (CoreDNS startup_timeout), then logs it whenever it happens. */
async function awaitSync(core: Core, log: Logger): Promise<void> {
  const t0 = Date.now();
  const counts = () => ({ ...core.state.counts(), names: core.index.recordCount() });
  if (await waitForSync(core.source, core.config.syncTimeout * 1000)) {
    log.info('initial sync done', { ms: Date.now() - t0, ...counts() });
    releaseMemory();
    return;
  }
  log.warn('not synced yet; serving, with SERVFAIL instead of NXDOMAIN until synced', { waitedMs: Date.now() - t0 });
  const timer = setInterval(() => {
    if (!core.source.synced()) return;
    clearInterval(timer);
    log.info('initial sync done', { ms: Date.now() - t0, ...counts() });
    releaseMemory();
  }, 100);
  timer.unref();
}

export async function startServer(initial: Config, log: Logger, extraHandlers: Handler[] = []): Promise<RunningServer> {
  // coredns_kubernetes_dns_programming_duration_seconds, fed by the API source.
  const programming = new PlainHistogram(['service_kind'], exponentialBuckets(0.001, 2, 20));
  const hooks = { extraHandlers, onProgrammed: (kind: string, seconds: number) => programming.observe([kind], seconds) };
  let config = initial;
  let core = await buildCore(config, log, hooks);
  const queryMetrics = new QueryMetrics(`dns://${config.dnsAddr.host}:${config.dnsAddr.port}`, [...config.zones, 'in-addr.arpa', 'ip6.arpa']);
  let logQueries = config.logQueries;
  let reloadFailures = 0;
  let stopping = false;

  const observe = (e: QueryEvent): void => {
    queryMetrics.observe(e);
    if (e.kind === 'replayed') {
      if (e.hit.entry.source === 'cache') core.forwarder?.cache.countReplay(e.hit.entry.rcode, e.hit.entry.an);
      return; // never while queries are logged: the fast path is off then
    }
    if (logQueries) {
      log.info('query', {
        client: e.client.address,
        proto: e.proto,
        name: e.query.name,
        type: typeName(e.query.type),
        rcode: RCODE_NAMES[e.reply.rcode] ?? e.reply.rcode,
        size: e.size,
        durationMs: Number(process.hrtime.bigint() - e.started) / 1e6,
      });
    }
  };
  // Cluster answers are served from encoded bytes while the index is unchanged (not when every query is logged).
  const replays = new ReplayCache();
  let epoch = 0;
  const fastPathFor = (c: Core, cfg: Config): FastPath | undefined =>
    cfg.logQueries
      ? undefined
      : {
          cache: replays,
          generation: () => epoch * 2 ** 32 + c.index.generation,
          variants: cfg.loadbalance === 'round_robin' ? (r) => addressRotations(r) : (r) => [r],
        };
  const pipeline = new Pipeline({
    handlers: core.handlers,
    transform: core.transform,
    fastPath: fastPathFor(core, config),
    observe,
    onHandlerError: (err, query) => log.error('handler failed; answered SERVFAIL', { error: err, name: query.name, type: query.type }),
  });

  let dns: DnsListeners;
  let ops: OpsServer | undefined;
  try {
    await awaitSync(core, log);
    dns = await listenDns(pipeline, config.dnsAddr, tcpOptions(config), log);
  } catch (err) {
    core.stop();
    throw err;
  }

  const readiness = (): Readiness => {
    if (stopping) return { ready: false, detail: ['shutting down'] };
    const detail: string[] = [];
    if (!core.source.synced()) {
      const waiting = core.source.watches().filter((w) => !w.status.synced);
      detail.push(`cluster state not synced yet${waiting.length ? `: waiting for ${waiting.map((w) => `${w.kind}${w.status.lastError ? ` (${w.status.lastError})` : ''}`).join(', ')}` : ''}`);
      return { ready: false, detail };
    }
    for (const name of core.loop?.detected ?? []) detail.push(`warning: forwarding loop via upstream ${name}; it is not used`);
    return { ready: true, detail };
  };

  const records = (name: string): unknown => {
    const lower = name.toLowerCase().replace(/\.$/, '');
    for (const family of [4, 6] as const) {
      const suffix = family === 4 ? '.in-addr.arpa' : '.ip6.arpa';
      if (!lower.endsWith(suffix)) continue;
      const ip = addressFromReverse(lower.substring(0, lower.length - suffix.length), family);
      return ip ? { name: lower, address: ip, ...core.index.explainAddress(ip) } : { name: lower, error: 'not a complete reverse name' };
    }
    const zone = [...config.zones].sort((a, b) => b.length - a.length).find((z) => lower === z || lower.endsWith(`.${z}`));
    if (!zone) return { name: lower, error: 'not in a cluster zone' };
    const relative = lower === zone ? '' : lower.substring(0, lower.length - zone.length - 1);
    // `_http._tcp.<svc>…` and `http.tcp.<svc>…` are one name in the index.
    const labels = relative.split('.');
    const base = labels.length === 5 ? labels.map((l, i) => (i < 2 ? l.replace(/^_/, '') : l)).join('.') : relative;
    return { name: lower, zone, relativeName: base, ...(core.index.explain(base) ?? { found: false }) };
  };

  const startOps = (c: Config) =>
    startOpsServer(
      { metrics: c.metricsAddr, health: c.healthAddr, ready: c.readyAddr },
      { readiness, registry: metricsRegistry, records: c.debugRecords ? records : undefined },
    );
  let registry: Promise<MetricsText> | undefined;
  const metricsRegistry = (): Promise<MetricsText> =>
    (registry ??= import('../ops/metrics.js').then(({ createRegistry }) => createRegistry({
    query: queryMetrics,
    pipeline: () => pipeline.stats,
    core: () => ({
      index: core.index,
      state: core.state,
      forwarder: core.forwarder,
      proxyDuration: core.proxyDuration,
      watches: core.source.watches(),
      synced: core.source.synced(),
      zones: [...config.zones, 'in-addr.arpa', 'ip6.arpa'],
    }),
    programming,
    reloadFailures: () => reloadFailures,
    plugins: () => ['kubernetes', ...(core.forwarder ? ['forward', 'cache', 'loop'] : []), ...(config.loadbalance === 'round_robin' ? ['loadbalance'] : []), ...(config.logQueries ? ['log'] : [])],
    version: VERSION,
  })));
  try {
    ops = await startOps(config);
    for (const [name, addr] of Object.entries(ops.addresses)) if (addr) log.info('listening', { [name]: addr });
  } catch (err) {
    await dns.close();
    core.stop();
    throw err;
  }

  const probeLoops = (c: Core): void => {
    // Loop probes go out once we can hear them come back.
    if (c.forwarder && c.loop) for (const g of c.forwarder.groups()) for (const u of g.upstreams) c.loop.probe(u);
  };
  probeLoops(core);

  return {
    get config() {
      return config;
    },
    get forwarder() {
      return core.forwarder;
    },
    get loop() {
      return core.loop;
    },
    get index() {
      return core.index;
    },
    get udp() {
      return dns.udp;
    },
    get tcp() {
      return dns.tcp;
    },
    pipeline,
    get ops() {
      return ops;
    },
    synced: () => core.source.synced(),
    readiness,

    async reload(next: Config): Promise<boolean> {
      let fresh: Core | undefined;
      try {
        fresh = await buildCore(next, log, hooks);
        // The old core keeps answering until the new one has its records (or its sync timeout passed).
        await awaitSync(fresh, log);
        const newDns = sameAddress(next.dnsAddr, config.dnsAddr) ? undefined : await listenDns(pipeline, next.dnsAddr, tcpOptions(next), log);
        const opsChanged = !sameAddress(next.metricsAddr, config.metricsAddr) || !sameAddress(next.healthAddr, config.healthAddr) || !sameAddress(next.readyAddr, config.readyAddr) || next.debugRecords !== config.debugRecords;
        const newOps = opsChanged ? await startOps(next).catch(async (err: unknown) => {
          await newDns?.close();
          throw err;
        }) : undefined;
        const old = core;
        core = fresh;
        config = next;
        logQueries = next.logQueries;
        queryMetrics.setZones([...next.zones, 'in-addr.arpa', 'ip6.arpa']); // counters continue across reloads
        epoch++;
        pipeline.setHandlers(core.handlers, core.transform, fastPathFor(core, next));
        old.stop();
        if (newDns) {
          const oldDns = dns;
          dns = newDns;
          await oldDns.close();
        }
        if (newOps) {
          const oldOps = ops;
          ops = newOps;
          await oldOps?.close();
        }
        probeLoops(core);
        log.info('configuration reloaded');
        return true;
      } catch (err) {
        fresh?.stop();
        reloadFailures++;
        log.error('configuration reload failed; the previous configuration keeps serving', { error: (err as Error).message });
        return false;
      }
    },

    async stop(opts: { lameduckMs?: number } = {}): Promise<void> {
      stopping = true;
      const lameduckMs = opts.lameduckMs ?? 0;
      if (lameduckMs > 0) {
        log.info('lameduck: unready, still answering', { ms: lameduckMs });
        await new Promise((r) => setTimeout(r, lameduckMs));
      }
      // Queries waiting on an upstream get their answer before the sockets close.
      const deadline = Date.now() + 5000;
      while (pipeline.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await dns.close();
      await ops?.close();
      core.stop();
    },
  };
}
