// The live source: list/watch of Services, EndpointSlices, Namespaces (and Pods for `--pods verified`)
// from the API server, each converted by the same code as the manifests source.
import type { ClusterState } from '../cluster/state.js';
import type { ApiClient } from '../kube/client.js';
import type { ApiObject } from '../kube/convert.js';
import { DEFAULT_LIST_WATCH, ListWatch, type ListWatchOptions } from '../kube/list-watch.js';
import type { ObjectKind } from '../kube/objects.js';
import type { Logger } from '../log.js';
import { applyObject, deleteObject, objectKey } from './apply.js';

const PATHS: Record<ObjectKind, string> = {
  Service: '/api/v1/services',
  EndpointSlice: '/apis/discovery.k8s.io/v1/endpointslices',
  Namespace: '/api/v1/namespaces',
  Pod: '/api/v1/pods',
};

/** CoreDNS's pod informer selector: pods in these phases can never answer. */
const LIVE_PODS = 'status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown';

export class ApiSource {
  readonly watches: Array<{ kind: ObjectKind; watch: ListWatch }> = [];

  constructor(client: ApiClient, state: ClusterState, log: Logger, opts: { watchPods: boolean; listWatch?: Partial<ListWatchOptions> }) {
    const kinds: ObjectKind[] = ['Namespace', 'Service', 'EndpointSlice', ...(opts.watchPods ? (['Pod'] as const) : [])];
    for (const kind of kinds) {
      const known = new Set<string>();
      const safely = (o: ApiObject, what: () => void): void => {
        try {
          what();
        } catch (err) {
          log.warn('object ignored', { kind, object: objectKey(o), error: (err as Error).message });
        }
      };
      const watch = new ListWatch(
        client,
        PATHS[kind],
        {
          replace(items) {
            const seen = new Set<string>();
            for (const o of items) {
              seen.add(objectKey(o));
              safely(o, () => applyObject(state, kind, o));
            }
            for (const key of known) if (!seen.has(key)) deleteObject(state, kind, key);
            known.clear();
            for (const key of seen) known.add(key);
          },
          upsert(o) {
            known.add(objectKey(o));
            safely(o, () => applyObject(state, kind, o));
          },
          remove(o) {
            known.delete(objectKey(o));
            deleteObject(state, kind, objectKey(o));
          },
        },
        log.child({ watch: kind }),
        { ...DEFAULT_LIST_WATCH, ...opts.listWatch, ...(kind === 'Pod' ? { fieldSelector: LIVE_PODS } : {}) },
      );
      this.watches.push({ kind, watch });
    }
  }

  start(): void {
    for (const { watch } of this.watches) watch.start();
  }

  synced(): boolean {
    return this.watches.every(({ watch }) => watch.status.synced);
  }

  stop(): void {
    for (const { watch } of this.watches) watch.stop();
  }
}
