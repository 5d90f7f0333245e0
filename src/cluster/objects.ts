// The minimal objects DNS needs, converted at the edge from API objects (as CoreDNS's object/ package does):
// a full V1Service is kilobytes, these are a few hundred bytes, and nothing else in the server sees API objects.

export interface PortInfo {
  /** Port name, lower-cased ('' when unnamed). */
  name: string;
  /** Protocol, lower-cased: tcp, udp or sctp. */
  protocol: string;
  /** The port number; -1 stands for "no ports declared" (CoreDNS's sentinel: address records, no SRV). */
  port: number;
}

export type ServiceKind = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export interface ServiceInfo {
  namespace: string;
  name: string;
  kind: ServiceKind;
  /** Canonical cluster IPs (spec.clusterIPs, else [spec.clusterIP]); empty when headless or ExternalName. */
  clusterIPs: string[];
  /** spec.clusterIP is "None". */
  headless: boolean;
  /**
   * spec.clusterIP exactly as written ('' when unset): the kubelet's service variables use this text raw (primary
   * family only, not canonicalised), so the env-var injector needs it as is.
   */
  rawClusterIP: string;
  /** ExternalName target without a trailing dot, lower-cased; undefined for other kinds. */
  externalName: string | undefined;
  ports: PortInfo[];
}

export interface EndpointInfo {
  /** Canonical addresses. */
  addresses: string[];
  hostname: string | undefined;
  /** targetRef.name when shorter than 64 characters (a DNS label), for --endpoint-pod-names. */
  podName: string | undefined;
}

export interface EndpointSliceInfo {
  namespace: string;
  name: string;
  /** The kubernetes.io/service-name label; slices without it serve no DNS name. */
  serviceName: string | undefined;
  ports: PortInfo[];
  /** Only ready endpoints (conditions.ready true or absent), as CoreDNS keeps them. */
  endpoints: EndpointInfo[];
  /** endpoints.kubernetes.io/last-change-trigger-time, ms since epoch, for the programming-latency metric. */
  lastChangeTriggerTime: number | undefined;
}

export interface NamespaceInfo {
  name: string;
  /** The cluster-dns.io/inject-env label (the env-var injector's opt-out), undefined when absent. */
  injectEnv: string | undefined;
}

export interface PodInfo {
  namespace: string;
  name: string;
  /** Canonical status.podIP: CoreDNS indexes only the primary IP. */
  ip: string;
}

/**
 * What --autopath keeps of a Pod (cluster/pod-addresses.ts): who an address belongs to, and whether that pod's
 * search path is the kubelet's ClusterFirst one. About 1 KB per pod with its indexes (measured: 10 MB at 10,000
 * pods), where the parsed V1Pods would take several times that.
 */
export interface PodAddressInfo {
  uid: string;
  namespace: string;
  /** Canonical status.podIPs (both families on a dual-stack pod). */
  ips: string[];
  /** spec.hostNetwork: the pod shares its node's addresses, so an address says nothing about who asked. */
  hostNetwork: boolean;
  /** Canonical status.hostIPs: node addresses, never attributed to a pod. */
  hostIPs: string[];
  /**
   * The pod's resolv.conf search line is exactly the kubelet's ClusterFirst one: dnsPolicy ClusterFirst (the
   * default) or ClusterFirstWithHostNet, and no dnsConfig.searches of its own.
   */
  clusterFirstSearch: boolean;
  /** metadata.creationTimestamp, ms since the epoch (NaN when absent). */
  createdAt: number;
  /** The newest metadata.managedFields time: when the API server wrote this version (ms; NaN when absent). */
  writtenAt: number;
}

export type ObjectKind = 'Service' | 'EndpointSlice' | 'Namespace' | 'Pod';

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** When the change behind an EndpointSlice happened (the DNS programming-latency SLI). */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
/** The env-var injector's opt-out, as a namespace label or a pod annotation. */
export const INJECT_ENV_LABEL = 'cluster-dns.io/inject-env';

export const serviceKey = (namespace: string, name: string): string => `${namespace}/${name}`;
