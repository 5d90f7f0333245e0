// The small fixed cluster the cluster handler's table runs against (CoreDNS's APIConnServeTest): the same
// objects as the demo in examples/, written out here so editing the demo for the documentation never changes
// what the handler's tests expect. fixedCluster() reads them through the real conversion into a ClusterState and
// the real index, and hands the handler only the narrow read surface it uses (ClusterRecords).
import { ClusterState } from '../../src/cluster/state.js';
import type { ObjectKind } from '../../src/cluster/objects.js';
import type { ApiObject } from '../../src/kube/convert.js';
import { type BuildOptions } from '../../src/records/build.js';
import { ZoneIndex } from '../../src/records/zone-index.js';
import type { ClusterRecords } from '../../src/resolve/cluster.js';
import { applyObject } from '../../src/sources/apply.js';

/** Namespaces default, kube-system, demo (ClusterIP, multi-port, dual-stack, headless, ExternalName, empty) and quiet. */
export const FIXED_OBJECTS: ReadonlyArray<[ObjectKind, ApiObject]> = [
  ['Namespace', {metadata: {name: 'default'}}],
  ['Namespace', {metadata: {name: 'kube-system'}}],
  ['Namespace', {metadata: {name: 'demo'}}],
  ['Namespace', {metadata: {name: 'quiet'}}],
  ['Service', {metadata: {name: 'kubernetes', namespace: 'default'}, spec: {type: 'ClusterIP', clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{name: 'https', port: 443, protocol: 'TCP', targetPort: 6443}]}}],
  ['EndpointSlice', {metadata: {name: 'kubernetes', namespace: 'default', labels: {'kubernetes.io/service-name':'kubernetes'}}, addressType: 'IPv4', endpoints: [{addresses: ['172.18.0.2'], conditions: {ready: true}}], ports: [{name: 'https', port: 6443, protocol: 'TCP'}]}],
  ['Service', {metadata: {name: 'kube-dns', namespace: 'kube-system', labels: {'k8s-app':'kube-dns'}}, spec: {clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], selector: {'k8s-app':'kube-dns'}, ports: [{name: 'dns', port: 53, protocol: 'UDP'}, {name: 'dns-tcp', port: 53, protocol: 'TCP'}, {name: 'metrics', port: 9153, protocol: 'TCP'}]}}],
  ['EndpointSlice', {metadata: {name: 'kube-dns-7x2vq', namespace: 'kube-system', labels: {'kubernetes.io/service-name':'kube-dns'}}, addressType: 'IPv4', endpoints: [{addresses: ['10.244.0.2'], conditions: {ready: true}, targetRef: {kind: 'Pod', name: 'coredns-5d78c9869d-4kqzt', namespace: 'kube-system'}}, {addresses: ['10.244.0.3'], conditions: {ready: true}, targetRef: {kind: 'Pod', name: 'coredns-5d78c9869d-9wz8m', namespace: 'kube-system'}}], ports: [{name: 'dns', port: 53, protocol: 'UDP'}, {name: 'dns-tcp', port: 53, protocol: 'TCP'}, {name: 'metrics', port: 9153, protocol: 'TCP'}]}],
  ['Service', {metadata: {name: 'web', namespace: 'demo'}, spec: {clusterIP: '10.96.100.10', selector: {app: 'web'}, ports: [{name: 'http', port: 80, protocol: 'TCP', targetPort: 8080}]}}],
  ['EndpointSlice', {metadata: {name: 'web-abcde', namespace: 'demo', labels: {'kubernetes.io/service-name':'web'}}, addressType: 'IPv4', endpoints: [{addresses: ['10.244.1.10'], conditions: {ready: true}, targetRef: {kind: 'Pod', name: 'web-6d4cf56db6-2xk8p', namespace: 'demo'}}, {addresses: ['10.244.2.11'], conditions: {ready: true}, targetRef: {kind: 'Pod', name: 'web-6d4cf56db6-r7q2m', namespace: 'demo'}}, {addresses: ['10.244.2.12'], conditions: {ready: false}, targetRef: {kind: 'Pod', name: 'web-6d4cf56db6-zz9tt', namespace: 'demo'}}], ports: [{name: 'http', port: 8080, protocol: 'TCP'}]}],
  ['Service', {metadata: {name: 'api', namespace: 'demo'}, spec: {clusterIP: '10.96.100.11', selector: {app: 'api'}, ports: [{name: 'http', port: 80, protocol: 'TCP'}, {name: 'grpc', port: 9090, protocol: 'TCP'}, {name: 'stats', port: 8125, protocol: 'UDP'}]}}],
  ['EndpointSlice', {metadata: {name: 'api-f9k2p', namespace: 'demo', labels: {'kubernetes.io/service-name':'api'}}, addressType: 'IPv4', endpoints: [{addresses: ['10.244.1.13']}], ports: [{name: 'http', port: 80, protocol: 'TCP'}, {name: 'grpc', port: 9090, protocol: 'TCP'}, {name: 'stats', port: 8125, protocol: 'UDP'}]}],
  ['Service', {metadata: {name: 'dual', namespace: 'demo'}, spec: {ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'], clusterIP: '10.96.100.20', clusterIPs: ['10.96.100.20', 'fd00:10:96::20'], selector: {app: 'dual'}, ports: [{name: 'http', port: 80, protocol: 'TCP'}]}}],
  ['Service', {metadata: {name: 'empty', namespace: 'demo'}, spec: {clusterIP: '10.96.100.30', selector: {app: 'nothing-matches'}, ports: [{name: 'http', port: 80, protocol: 'TCP'}]}}],
  ['Service', {metadata: {name: 'db', namespace: 'demo'}, spec: {clusterIP: 'None', selector: {app: 'db'}, ports: [{name: 'postgres', port: 5432, protocol: 'TCP'}]}}],
  ['EndpointSlice', {metadata: {name: 'db-q8w7e', namespace: 'demo', labels: {'kubernetes.io/service-name':'db'}}, addressType: 'IPv4', endpoints: [{addresses: ['10.244.1.20'], hostname: 'db-0', conditions: {ready: true}, targetRef: {kind: 'Pod', name: 'db-0', namespace: 'demo'}}, {addresses: ['10.244.2.21'], hostname: 'db-1', conditions: {ready: true}, targetRef: {kind: 'Pod', name: 'db-1', namespace: 'demo'}}, {addresses: ['10.244.1.22'], hostname: 'db-2', conditions: {ready: false}, targetRef: {kind: 'Pod', name: 'db-2', namespace: 'demo'}}], ports: [{name: 'postgres', port: 5432, protocol: 'TCP'}]}],
  ['Service', {metadata: {name: 'cache', namespace: 'demo'}, spec: {clusterIP: 'None', clusterIPs: ['None'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack', selector: {app: 'cache'}, ports: [{name: 'redis', port: 6379, protocol: 'TCP'}]}}],
  ['EndpointSlice', {metadata: {name: 'cache-v4', namespace: 'demo', labels: {'kubernetes.io/service-name':'cache'}}, addressType: 'IPv4', endpoints: [{addresses: ['10.244.1.30']}, {addresses: ['10.244.2.31']}], ports: [{name: 'redis', port: 6379, protocol: 'TCP'}]}],
  ['EndpointSlice', {metadata: {name: 'cache-v6', namespace: 'demo', labels: {'kubernetes.io/service-name':'cache'}}, addressType: 'IPv6', endpoints: [{addresses: ['fd00:10:244:1::30']}], ports: [{name: 'redis', port: 6379, protocol: 'TCP'}]}],
  ['Service', {metadata: {name: 'search', namespace: 'demo'}, spec: {type: 'ExternalName', externalName: 'search.example.com'}}],
  ['Service', {metadata: {name: 'www', namespace: 'demo'}, spec: {type: 'ExternalName', externalName: 'web.demo.svc.cluster.local'}}],
];

export interface FixedCluster {
  state: ClusterState;
  index: ZoneIndex;
  records: ClusterRecords;
}

/** The fixed objects plus `extra`, indexed with a fixed clock (so the SOA serial is the same every run). */
export function fixedCluster(extra: ReadonlyArray<[ObjectKind, ApiObject]> = [], build: Partial<BuildOptions> = {}): FixedCluster {
  const state = new ClusterState(true);
  for (const [kind, object] of [...FIXED_OBJECTS, ...extra]) applyObject(state, kind, object);
  const index = new ZoneIndex(state, { ignoreEmptyService: build.ignoreEmptyService ?? false, endpointPodNames: build.endpointPodNames ?? false }, () => 1_700_000_000_000);
  return { state, index, records: index };
}
