// The live source: list/watch of Services, EndpointSlices, Namespaces (and Pods for `--pods verified`)
// from the API server, each converted by the same code as the manifests source. With --autopath the one Pod
// watch also feeds the client → pod projection (cluster/pod-addresses.ts), and only it unless pods are verified.
import type { PodAddresses } from '../cluster/pod-addresses.js';
import type { ClusterState } from '../cluster/state.js';
import type { ApiClient } from '../kube/api-client.js';
import { type ApiObject, toPodAddress } from '../kube/convert.js';
import { DEFAULT_LIST_WATCH, ListWatch, type ListWatchOptions } from '../kube/list-watch.js';
import { type ObjectKind, SERVICE_NAME_LABEL, TRIGGER_TIME_ANNOTATION } from '../cluster/objects.js';
import type { Logger } from '../base/log.js';
import { applyObject, deleteObject, objectKey } from './apply.js';

const PATHS: Record<ObjectKind, string> = {
  Service: '/api/v1/services',
  EndpointSlice: '/apis/discovery.k8s.io/v1/endpointslices',
  Namespace: '/api/v1/namespaces',
  Pod: '/api/v1/pods',
};

/**
 * CoreDNS's service_kind label. Only the EndpointSlice controller (which serves Services with a selector)
 * manages slices, so its managed-by label tells a headless service with a selector from one without.
 */
function serviceKindOf(state: ClusterState, slice: ApiObject): string {
  const ns = slice.metadata?.namespace ?? '';
  const svc = state.services.get(`${ns}/${slice.metadata?.labels?.[SERVICE_NAME_LABEL] ?? ''}`);
  if (svc && !svc.headless) return 'cluster_ip';
  return slice.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'] === 'endpointslice-controller.k8s.io' ? 'headless_with_selector' : 'headless_without_selector';
}

/** CoreDNS's pod informer selector: pods in these phases can never answer. */
const LIVE_PODS = 'status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown';

export class ApiSource {
  readonly watches: Array<{ kind: ObjectKind; watch: ListWatch }> = [];
  /** The watches DNS answers from: synced means these are. A Pod watch only for --autopath never holds DNS back. */
  private readonly gating: ListWatch[] = [];

  constructor(
    client: ApiClient,
    state: ClusterState,
    log: Logger,
    opts: {
      /** The resources to watch: only what the command reads (the webhook needs no EndpointSlices). */
      kinds: readonly ObjectKind[];
      listWatch?: Partial<ListWatchOptions>;
      /** DNS programming latency: an EndpointSlice change observed `seconds` after its trigger time. */
      onProgrammed?: (serviceKind: string, seconds: number) => void;
      /** --autopath: Pods are watched for this projection (and for the state only when `kinds` has them). */
      podAddresses?: PodAddresses;
    },
  ) {
    const watched = opts.podAddresses && !opts.kinds.includes('Pod') ? [...opts.kinds, 'Pod' as const] : opts.kinds;
    for (const kind of watched) {
      const toState = opts.kinds.includes(kind);
      const addresses = kind === 'Pod' ? opts.podAddresses : undefined;
      let known = new Set<string>();
      let seen = new Set<string>();
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
          page(items, first, last) {
            if (first) seen = new Set<string>();
            for (const o of items) {
              seen.add(objectKey(o));
              if (toState) safely(o, () => applyObject(state, kind, o));
              if (addresses) safely(o, () => addresses.upsert(objectKey(o), toPodAddress(o)));
            }
            if (!last) return;
            for (const key of known) {
              if (seen.has(key)) continue;
              if (toState) deleteObject(state, kind, key);
              addresses?.remove(key);
            }
            known = seen;
          },
          upsert(o) {
            known.add(objectKey(o));
            seen.add(objectKey(o));
            if (toState) safely(o, () => applyObject(state, kind, o));
            if (addresses) safely(o, () => addresses.upsert(objectKey(o), toPodAddress(o), true));
            if (kind === 'EndpointSlice' && opts.onProgrammed) {
              const trigger = Date.parse(o.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION] ?? '');
              if (!Number.isNaN(trigger)) opts.onProgrammed(serviceKindOf(state, o), Math.max(0, Date.now() - trigger) / 1000);
            }
          },
          remove(o) {
            known.delete(objectKey(o));
            seen.delete(objectKey(o));
            if (toState) deleteObject(state, kind, objectKey(o));
            addresses?.remove(objectKey(o));
          },
        },
        log.child({ watch: kind }),
        { ...DEFAULT_LIST_WATCH, ...opts.listWatch, ...(kind === 'Pod' ? { fieldSelector: LIVE_PODS } : {}) },
      );
      this.watches.push({ kind, watch });
      if (toState) this.gating.push(watch);
    }
  }

  start(): void {
    for (const { watch } of this.watches) watch.start();
  }

  synced(): boolean {
    return this.gating.every((watch) => watch.status.synced);
  }

  whenSynced(): Promise<void> {
    return Promise.all(this.gating.map((watch) => watch.whenSynced())).then(() => undefined);
  }

  stop(): void {
    for (const { watch } of this.watches) watch.stop();
  }
}
