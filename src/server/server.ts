// Composition root of `cluster-dns serve`: a core (source → index → handlers, core.ts) behind a pipeline and
// listeners that outlive it, the operational endpoints, live reload, and graceful stop. The server's states
// and the moves between them are in lifecycle.ts; a reload is one transaction (reload.ts).
import { type Clock, systemClock } from '../base/clock.js';
import { within } from '../base/latch.js';
import type { Logger } from '../base/log.js';
import { VERSION } from '../base/version.js';
import type { Config } from '../config/config.js';
import { Doorkeeper } from '../dns/doorkeeper.js';
import { ReplayCache } from '../dns/replay.js';
import type { Forwarder } from '../forward/forwarder.js';
import type { LoopDetector } from '../forward/loop.js';
import { debugRecords } from '../ops/debug-records.js';
import { type OpsServer, startOpsServer } from '../ops/http.js';
import { type Readiness, readiness } from '../ops/readiness.js';
import type { ZoneIndex } from '../records/zone-index.js';
import type { Handler } from '../resolve/handler.js';
import { addressRotations } from '../resolve/loadbalance.js';
import { type DnsListeners, listenDns } from '../transport/listen.js';
import { type FastPath, Pipeline } from '../transport/pipeline.js';
import type { TcpListener } from '../transport/tcp.js';
import type { UdpListener } from '../transport/udp.js';
import { type Core, awaitSync, buildCore } from './core.js';
import { Lifecycle, type ServerState } from './lifecycle.js';
import { Observers } from './observers.js';
import { type Live, type PreparedReload, type ReloadDeps, prepareReload, tcpOptions } from './reload.js';

export interface RunningServer {
  readonly state: ServerState;
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

/** Builds, syncs and binds the first configuration; resolves once it serves (lifecycle: starting → serving). */
export async function startServer(initial: Config, log: Logger, extraHandlers: Handler[] = [], clock: Clock = systemClock): Promise<RunningServer> {
  const server = new DnsServer(initial, log, extraHandlers, clock);
  await server.start();
  return server;
}

class DnsServer implements RunningServer {
  private readonly lifecycle = new Lifecycle();
  private readonly replays: ReplayCache;
  private readonly observers: Observers;
  readonly pipeline: Pipeline;
  private readonly deps: ReloadDeps;
  /** The one configuration answering now: replaced whole by a reload, never edited. */
  private live!: Live;
  /** Bumped by every reload, so replays never outlive the core that made them. */
  private epoch = 0;
  /** Reloads run one at a time, each after the one before. */
  private reloads: Promise<unknown> = Promise.resolve();
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly initial: Config,
    private readonly log: Logger,
    extraHandlers: Handler[],
    clock: Clock,
  ) {
    this.replays = new ReplayCache(undefined, () => clock.now(), undefined, new Doorkeeper());
    this.observers = new Observers(initial, log, { pipeline: () => this.pipeline.stats, live: () => this.live, plugins: () => pluginsOf(this.live), version: VERSION });
    const onHandlerError = (err: unknown, query: { name: string; type: number }): void => log.error('handler failed; answered SERVFAIL', { error: err, name: query.name, type: query.type });
    this.pipeline = new Pipeline({ handlers: [], observe: this.observers.observe, onHandlerError });
    const hooks = { extraHandlers, clock, onProgrammed: (kind: string, seconds: number) => this.observers.programming.observe([kind], seconds) };
    this.deps = { log, hooks, pipeline: this.pipeline, startOps: (c) => this.startOps(c) };
  }

  async start(): Promise<void> {
    const { initial: config, log } = this;
    const core = await buildCore(config, log, this.deps.hooks);
    this.install(core, config);
    let dns: DnsListeners;
    try {
      await awaitSync(core, log);
      dns = await listenDns(this.pipeline, config.dnsAddr, tcpOptions(config), log);
    } catch (err) {
      core.stop();
      throw err;
    }
    this.live = { config, core, dns, ops: undefined };
    try {
      const ops = await this.startOps(config);
      for (const [name, addr] of Object.entries(ops.addresses)) if (addr) log.info('listening', { [name]: addr });
      this.live = { ...this.live, ops };
    } catch (err) {
      await dns.close();
      core.stop();
      throw err;
    }
    this.lifecycle.to('serving');
    probeLoops(core);
  }

  reload(next: Config): Promise<boolean> {
    const run = this.reloads.then(() => this.reloadNow(next));
    this.reloads = run;
    return run;
  }

  stop(opts: { lameduckMs?: number } = {}): Promise<void> {
    return (this.stopped ??= this.lameduckThenStop(opts.lameduckMs ?? 0));
  }

  readonly readiness = (): Readiness => readiness({
      stopping: this.lifecycle.stopping,
      source: this.live.core.source,
      loops: this.live.core.loop?.detected ?? [],
      autopath: this.live.core.autopath?.health(),
    });
  synced = (): boolean => this.live.core.source.synced();
  get state(): ServerState {
    return this.lifecycle.state;
  }
  get config(): Config {
    return this.live.config;
  }
  get forwarder(): Forwarder | undefined {
    return this.live.core.forwarder;
  }
  get loop(): LoopDetector | undefined {
    return this.live.core.loop;
  }
  get index(): ZoneIndex {
    return this.live.core.index;
  }
  get udp(): UdpListener[] {
    return this.live.dns.udp;
  }
  get tcp(): TcpListener[] {
    return this.live.dns.tcp;
  }
  get ops(): OpsServer | undefined {
    return this.live.ops;
  }

  private startOps(c: Config): Promise<OpsServer> {
    const records = c.debugRecords ? debugRecords(() => this.live.core.index, () => this.live.config.zones) : undefined;
    return startOpsServer({ metrics: c.metricsAddr, health: c.healthAddr, ready: c.readyAddr }, { readiness: this.readiness, registry: this.observers.metrics, records });
  }

  /** Puts a configuration's core in front of the pipeline. Cluster answers are replayed unless every query is logged. */
  private install(core: Core, config: Config): void {
    const epoch = this.epoch;
    const fastPath: FastPath | undefined = config.logQueries
      ? undefined
      : {
          cache: this.replays,
          generation: () => epoch * 2 ** 32 + core.index.generation,
          variants: config.loadbalance === 'round_robin' ? (r) => addressRotations(r) : (r) => [r],
        };
    this.pipeline.setHandlers(core.handlers, core.transform, fastPath);
    this.pipeline.maxInFlight = config.maxInFlight;
  }

  /** serving → reloading → serving: the new configuration whole, or (false) the old one untouched. */
  private async reloadNow(next: Config): Promise<boolean> {
    if (!this.lifecycle.is('serving')) return false;
    this.lifecycle.to('reloading');
    let prepared: PreparedReload;
    try {
      prepared = await prepareReload(this.live, next, this.deps);
    } catch (err) {
      this.observers.reloadFailures++;
      this.log.error('configuration reload failed; the previous configuration keeps serving', { error: (err as Error).message });
      if (this.lifecycle.is('reloading')) this.lifecycle.to('serving');
      return false;
    }
    if (!this.lifecycle.is('reloading')) {
      await prepared.abort(); // stopping meanwhile: the old configuration answers to the end
      return false;
    }
    // The commit: from here on the new configuration answers; the old one's parts are closed after.
    const old = this.live;
    this.live = prepared.live;
    this.epoch++;
    this.observers.configure(next);
    this.install(this.live.core, next);
    this.lifecycle.to('serving');
    await prepared.retire(old);
    probeLoops(this.live.core);
    this.log.info('configuration reloaded');
    return true;
  }

  /** → lameduck (unready, still answering) → drained → stopped. */
  private async lameduckThenStop(lameduckMs: number): Promise<void> {
    this.lifecycle.to('lameduck');
    if (lameduckMs > 0) {
      this.log.info('lameduck: unready, still answering', { ms: lameduckMs });
      await new Promise((r) => setTimeout(r, lameduckMs));
    }
    await this.reloads; // a reload under way gives up at its commit and cleans up first
    // Queries waiting on an upstream get their answer before the sockets close (5 s at most).
    await within(this.pipeline.drained(), 5000);
    await this.live.dns.close();
    await this.live.ops?.close();
    this.live.core.stop();
    this.lifecycle.to('stopped');
  }
}

/** Loop probes go out once we can hear them come back. */
function probeLoops(c: Core): void {
  if (c.forwarder && c.loop) for (const g of c.forwarder.groups()) for (const u of g.upstreams) c.loop.probe(u);
}

/** coredns_plugin_enabled: the CoreDNS plugins this configuration stands in for. */
function pluginsOf({ config, core }: Live): string[] {
  return ['kubernetes', ...(core.forwarder ? ['forward', 'cache', 'loop'] : []), ...(config.loadbalance === 'round_robin' ? ['loadbalance'] : []), ...(config.logQueries ? ['log'] : [])];
}
