// A configuration reload as one transaction. `prepareReload` builds and syncs the new core and binds whatever
// listeners moved, while the current configuration keeps answering; any failure undoes what it made and
// leaves the current one untouched. The caller commits by making the prepared `Live` current, then retires
// the old one's parts; or aborts it (stopped meanwhile).
import type { Logger } from '../base/log.js';
import type { Config, ListenAddress } from '../config/config.js';
import type { OpsServer } from '../ops/http.js';
import { type DnsListeners, listenDns } from '../transport/listen.js';
import type { Pipeline } from '../transport/pipeline.js';
import type { TcpOptions } from '../transport/tcp.js';
import { type Core, type CoreHooks, awaitSync, buildCore } from './core.js';

/** Everything one configuration runs on. A reload replaces it whole; nothing edits it in place. */
export interface Live {
  readonly config: Config;
  readonly core: Core;
  readonly dns: DnsListeners;
  readonly ops: OpsServer | undefined;
}

export interface ReloadDeps {
  log: Logger;
  hooks: CoreHooks;
  /** The pipeline outlives every configuration: new DNS listeners feed the same one. */
  pipeline: Pipeline;
  startOps: (config: Config) => Promise<OpsServer>;
}

export interface PreparedReload {
  live: Live;
  /** Undoes the preparation: closes what it opened, stops the new core. */
  abort(): Promise<void>;
  /** After the commit: stops the old core and closes the old listeners the new configuration replaced. */
  retire(old: Live): Promise<void>;
}

const sameAddress = (a: ListenAddress | undefined, b: ListenAddress | undefined): boolean => a?.host === b?.host && a?.port === b?.port;
export const tcpOptions = (c: Config): TcpOptions => ({
  idleTimeoutMs: c.tcpIdleTimeout * 1000,
  maxConnections: c.tcpMaxConnections,
  maxInFlightPerConnection: 100,
  maxQueuedBytesPerConnection: c.tcpMaxQueuedBytes,
  maxQueuedBytes: c.maxQueuedBytes,
});
const opsChanged = (a: Config, b: Config): boolean =>
  !sameAddress(a.metricsAddr, b.metricsAddr) || !sameAddress(a.healthAddr, b.healthAddr) || !sameAddress(a.readyAddr, b.readyAddr) || a.debugRecords !== b.debugRecords;

export async function prepareReload(current: Live, next: Config, deps: ReloadDeps): Promise<PreparedReload> {
  let fresh: Core | undefined;
  let newDns: DnsListeners | undefined;
  try {
    fresh = await buildCore(next, deps.log, deps.hooks);
    // The old core keeps answering until the new one has its records (or its sync timeout passed).
    await awaitSync(fresh, deps.log);
    newDns = sameAddress(next.dnsAddr, current.config.dnsAddr) ? undefined : await listenDns(deps.pipeline, next.dnsAddr, tcpOptions(next), deps.log);
    const newOps = opsChanged(current.config, next) ? await deps.startOps(next) : undefined;
    const core = fresh;
    const dns = newDns;
    return {
      live: { config: next, core, dns: dns ?? current.dns, ops: newOps ?? current.ops },
      abort: async () => {
        await dns?.close();
        await newOps?.close();
        core.stop();
      },
      retire: async (old) => {
        old.core.stop();
        if (dns) await old.dns.close();
        if (newOps) await old.ops?.close();
      },
    };
  } catch (err) {
    await newDns?.close();
    fresh?.stop();
    throw err;
  }
}
