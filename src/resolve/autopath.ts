// --autopath, the decision: may the server finish this query's search path for the client? Pure, so every
// refusal can be table-tested. Only a name shaped like the first element of the kubelet's ClusterFirst search
// path (`<base>.<ns>.svc.<zone>`) can be an expansion, and only from a client known for sure to be one pod
// with that search path, in that namespace: anything less answers exactly as without autopath.
import { RRType } from '../dns/constants.js';
import type { Attribution } from '../cluster/pod-addresses.js';

/** Every way an autopath decision or walk ends: the `outcome` label of cluster_dns_autopath_total. */
export const AUTOPATH_OUTCOMES = [
  // the walk ran
  'completed', // CNAME to the first name that exists, with its records
  'nodata', // the first name that exists has no records of the type: NODATA for the asked name
  'nxdomain', // nothing on the path exists: NXDOMAIN for the asked name
  'failed', // a step could not be answered (upstream failure): the asked name's own answer
  // no walk needed
  'exists', // the asked name exists (or the cluster is not synced): answered as is
  // refused: answered exactly as without autopath
  'other_type', // not an address query
  'not_expansion', // under a cluster zone, but not `<base>.<ns>.svc.<zone>`
  'watch_down', // the Pod watch is not connected: nobody's address can be trusted
  'watch_lagging', // the Pod watch is further behind than --autopath-max-lag
  'unknown_client', // no pod holds the address
  'node', // a node's address
  'host_network', // a hostNetwork pod's address (shared with its node and every other such pod)
  'ambiguous', // more than one pod held the address within --autopath-reuse-window
  'custom_search', // the pod's dnsPolicy or dnsConfig gives it another search path
  'pod_too_young', // the pod is younger than the watch lag: its address may have been another's a moment ago
  'namespace_mismatch', // the suffix names another namespace than the pod's
] as const;
export type AutopathOutcome = (typeof AUTOPATH_OUTCOMES)[number];

/** A query that may be the first expansion of a search: the name the client was resolving and where. */
export interface Expansion {
  /** The name before the search suffix, as the client spelled it. */
  base: string;
  namespace: string;
  /** The zone as the client spelled it. */
  zone: string;
}

/**
 * `<base>.<ns>.svc.<zone>` with a non-empty base: the shape of a name the first search domain was appended to.
 * `zone` is the lower-case cluster zone the name falls in; the parts keep the client's spelling.
 */
export function searchExpansion(name: string, zone: string): Expansion | undefined {
  const lower = name.toLowerCase();
  if (!lower.endsWith(`.svc.${zone}`)) return undefined;
  const rest = name.substring(0, name.length - zone.length - '.svc.'.length);
  const dot = rest.lastIndexOf('.');
  if (dot <= 0) return undefined; // `<ns>.svc.<zone>` itself, or an empty label
  const namespace = rest.substring(dot + 1).toLowerCase();
  const base = rest.substring(0, dot);
  if (namespace === '' || base.startsWith('.') || base.endsWith('.') || base.includes('..')) return undefined;
  return { base, namespace, zone: name.substring(name.length - zone.length) };
}

/** The rest of the kubelet's ClusterFirst search path after `<ns>.svc.<zone>`, then the name itself. */
export function remainingSearch(e: Expansion): string[] {
  return [`${e.base}.svc.${e.zone}`, `${e.base}.${e.zone}`, e.base];
}

export const isAddressQuery = (type: number): boolean => type === RRType.A || type === RRType.AAAA;

export interface ClientFacts {
  /** The Pod watch is connected (listed, and not in a retry backoff). */
  watchConnected: boolean;
  /** How far behind the API server the watch has been lately. */
  watchLagMs: number;
  maxLagMs: number;
  /** Who holds the client's address. */
  who: Attribution;
  now: number;
}

/**
 * Whether the client is known for sure to be a pod whose search path starts with `<namespace>.svc.<zone>`:
 * undefined when it is (walk), else the refusal. The order puts the reasons that concern every client first.
 */
export function refusal(namespace: string, f: ClientFacts): AutopathOutcome | undefined {
  if (!f.watchConnected) return 'watch_down';
  if (f.watchLagMs > f.maxLagMs) return 'watch_lagging';
  const { who } = f;
  if (who.kind === 'unknown') return 'unknown_client';
  if (who.kind === 'node') return 'node';
  if (who.kind === 'host_network') return 'host_network';
  if (who.kind === 'ambiguous') return 'ambiguous';
  const pod = who.pod;
  if (!pod.clusterFirstSearch) return 'custom_search';
  // API timestamps have whole seconds, so one more second of doubt; no creation time is no proof of age.
  if (Number.isNaN(pod.createdAt) || f.now - pod.createdAt < f.watchLagMs + 1000) return 'pod_too_young';
  if (pod.namespace !== namespace) return 'namespace_mismatch';
  return undefined;
}
