// Picks and starts the configured source: --manifests (static, watched files) or the API server.
import { ClusterState } from '../cluster/state.js';
import type { ObjectKind } from '../cluster/objects.js';
import type { PodAddresses } from '../cluster/pod-addresses.js';
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

/** The settings a source reads. */
export type SourceConfig = Pick<Config, 'manifests' | 'kubeconfig' | 'serviceAccountDir' | 'apiEncoding' | 'apiInitialList'>;

/** What DNS answers from; Pods only for `--pods verified`. */
export const dnsKinds = (pods: Config['pods']): ObjectKind[] => ['Namespace', 'Service', 'EndpointSlice', ...(pods === 'verified' ? (['Pod'] as const) : [])];
/** What the service variables are made of (env/service-env.ts): Services, and Namespaces for their labels. */
export const ENV_KINDS: readonly ObjectKind[] = ['Namespace', 'Service'];

export interface SourceOptions {
  watch: boolean;
  /** The resources to read from the API server (the manifests source reads whatever its files hold). */
  kinds: readonly ObjectKind[];
  onProgrammed?: (serviceKind: string, seconds: number) => void;
  /** --autopath's client → pod projection, fed by the Pod watch (the manifests source has none: it stays empty). */
  podAddresses?: PodAddresses;
}

export async function startSource(config: SourceConfig, log: Logger, opts: SourceOptions): Promise<{ state: ClusterState; source: Source }> {
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
  const api = new ApiSource(client, state, log.child({ source: 'api' }), {
    kinds: opts.kinds,
    onProgrammed: opts.onProgrammed,
    podAddresses: opts.podAddresses,
    listWatch: { encoding: config.apiEncoding, initialList: config.apiInitialList },
  });
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
