// Names and addresses of the real test node: one place, so the network, the kubelet, kube-proxy, the CNI config, the
// API server's certificate and the teardown agree.
//
// Every address below is this run's own: the veth pair's two ends (a /30 nobody else uses on these machines), the pod
// range behind the node's bridge and the Service range kube-proxy implements. The host routes only the pod and
// Service ranges into the veth; the node's namespace has no default route, so nothing from it can leave the machine.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const HOST_ADDRESS = '10.250.0.1'; // host end of the veth: the API server and the upstream NSD listen here
export const NODE_ADDRESS = '10.250.0.2'; // node end: the kubelet's --node-ip, the node's InternalIP
export const VETH_PREFIX = 30;
export const CLUSTER_CIDR = '10.244.0.0/16'; // kind's pod subnet
export const NODE_POD_CIDR = '10.244.0.0/24'; // the one node's share, what the bridge's host-local IPAM hands out
export const SERVICE_CIDR = '10.96.0.0/16';
export const CLUSTER_DNS_IP = '10.96.0.10'; // kubeadm's: the 10th address of the Service range
export const CLUSTER_DOMAIN = 'cluster.local';
export const NODE_NAME = 'cluster-dns-node';
/** The upstream zone the harness's NSD serves to the pods' forwarders (the machine's resolver is never asked). */
export const UPSTREAM_ZONE = 'example.test';

/** Every name a run creates outside its folder, derived from one random id so the teardown can find them all. */
export interface NodeResources {
  id: string;
  /** The run's folder: containerd root and state, kubelet root, configs, logs. */
  dir: string;
  netns: string;
  hostVeth: string;
  nodeVeth: string;
  /** cgroup (v1, in every mounted hierarchy) holding the node's daemons, shims and pods. */
  cgroup: string;
  /**
   * Host folders that did not exist before this run and that containerd, its CNI library or the kubelet create at
   * fixed paths (shim sockets, the CNI cache, container log links): removed by the teardown once empty.
   */
  hostDirsToPrune: string[];
}

/** Paths the node's parts use whatever their configuration says (see hostDirsToPrune). */
export const FIXED_HOST_DIRS = ['/run/containerd', '/var/lib/cni', '/var/log/containers', '/usr/libexec/kubernetes'];

export const NETNS_PREFIX = 'cdns-';

export function nodeResources(parentDir: string): NodeResources {
  const id = randomBytes(3).toString('hex');
  return {
    id,
    dir: join(parentDir, `cluster-dns-node-${id}`),
    netns: `${NETNS_PREFIX}${id}`,
    hostVeth: `cdh-${id}`, // interface names: at most 15 characters
    nodeVeth: `cdn-${id}`,
    cgroup: `/cluster-dns-${id}`,
    hostDirsToPrune: FIXED_HOST_DIRS.filter((dir) => !existsSync(dir)),
  };
}
