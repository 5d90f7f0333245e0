// Routes API objects (from any source) through the one conversion into the cluster state, and removes what
// a fresh full listing no longer contains. Both the manifests source and the API watches use this.
import type { ClusterState } from '../cluster/state.js';
import { type ApiObject, toEndpointSlice, toNamespace, toPod, toService } from '../kube/convert.js';
import type { ObjectKind } from '../cluster/objects.js';

export const GROUP_VERSION: Record<ObjectKind, string> = {
  Service: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Namespace: 'v1',
  Pod: 'v1',
};

export function objectKey(o: ApiObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** Converts first (throwing on a bad object) and returns the change to apply, so callers can validate a batch. */
export function convertObject(kind: ObjectKind, o: ApiObject): (state: ClusterState) => void {
  switch (kind) {
    case 'Service': {
      const s = toService(o);
      return (state) => state.upsertService(s);
    }
    case 'EndpointSlice': {
      const s = toEndpointSlice(o);
      return (state) => state.upsertSlice(s);
    }
    case 'Namespace': {
      const n = toNamespace(o);
      return (state) => state.upsertNamespace(n);
    }
    case 'Pod': {
      const p = toPod(o);
      const namespace = (o.metadata?.namespace ?? 'default').toLowerCase();
      const name = (o.metadata?.name ?? '').toLowerCase();
      return (state) => state.upsertPod(namespace, name, p);
    }
  }
}

export function applyObject(state: ClusterState, kind: ObjectKind, o: ApiObject): void {
  convertObject(kind, o)(state);
}

export function deleteObject(state: ClusterState, kind: ObjectKind, key: string): void {
  const slash = key.indexOf('/');
  const namespace = key.substring(0, slash).toLowerCase() || 'default';
  const name = key.substring(slash + 1).toLowerCase();
  switch (kind) {
    case 'Service':
      return state.deleteService(namespace, name);
    case 'EndpointSlice':
      return state.deleteSlice(namespace, name);
    case 'Namespace':
      return state.deleteNamespace(name);
    case 'Pod':
      return state.deletePod(namespace, name);
  }
}
