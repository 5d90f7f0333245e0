// Picks and starts the configured source: --manifests (static, watched files) or the API server.
import { ClusterState } from '../cluster/state.js';
import type { Config } from '../config/config.js';
import { loadApiClient } from '../kube/client.js';
import type { ListWatchStatus } from '../kube/list-watch.js';
import { within } from '../base/latch.js';
import type { Logger } from '../base/log.js';
import { ApiSource } from './api.js';
import { ManifestSource } from './manifests.js';

export interface Source {
  synced(): boolean;
  /** Resolves once every resource has been read in full (never rejects; a source that cannot sync keeps it pending). */
  whenSynced(): Promise<void>;
  stop(): void;
  describe(): string;
  /** Per-resource watch health (empty for the manifests source). */
  watches(): Array<{ kind: string; status: ListWatchStatus }>;
}

export interface SourceOptions {
  watch: boolean;
  onProgrammed?: (serviceKind: string, seconds: number) => void;
}

export async function startSource(config: Config, log: Logger, opts: SourceOptions): Promise<{ state: ClusterState; source: Source }> {
  if (config.manifests) {
    const state = new ClusterState(true);
    const manifests = new ManifestSource(config.manifests, state, log.child({ source: 'manifests' }));
    manifests.start(opts.watch); // throws ManifestError: a bad manifest stops start-up
    return {
      state,
      source: { synced: () => manifests.synced(), whenSynced: () => manifests.whenSynced(), stop: () => manifests.stop(), describe: () => `manifests ${config.manifests}`, watches: () => [] },
    };
  }
  const state = new ClusterState(false);
  const client = await loadApiClient(config.kubeconfig, { serviceAccountDir: config.serviceAccountDir });
  const api = new ApiSource(client, state, log.child({ source: 'api' }), { watchPods: config.pods === 'verified', onProgrammed: opts.onProgrammed });
  api.start();
  return {
    state,
    source: {
      synced: () => api.synced(),
      whenSynced: () => api.whenSynced(),
      stop: () => api.stop(),
      describe: () => `API server ${client.server.origin}`,
      watches: () => api.watches.map(({ kind, watch }) => ({ kind, status: watch.status })),
    },
  };
}

/** Resolves when `synced()` holds or after `timeoutMs`, whichever comes first; returns whether it synced. */
export function waitForSync(source: Source, timeoutMs: number): Promise<boolean> {
  return within(source.whenSynced(), timeoutMs);
}
