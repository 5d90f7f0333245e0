// The kubelet and kube-proxy of the real node, started in its network namespace, and the cgroup that holds them.
//
// Settings that differ from a kind node, each because of this machine (see the README's testing section):
// - failCgroupV1: false, cgroupDriver cgroupfs: these machines run cgroup v1 without systemd;
// - cgroupRoot /cluster-dns-<id>: every pod's cgroup lives under the run's own, so the teardown finds them all;
// - anonymous authentication with AlwaysAllow on the kubelet's API, and the admin kubeconfig for the kubelet and
//   kube-proxy: a test shortcut instead of TLS bootstrap and the Node authorizer (the kubelet port is reachable
//   only inside the node's namespace and from the host);
// - image GC and eviction off: nothing may ever remove an imported image, since nothing can pull it again;
// - every folder the kubelet would otherwise create under /var (root dir, pod logs, volume plugins) is in the run's.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManagedProcess } from '../process.js';
import { startInNode } from './node-process.js';
import { CLUSTER_CIDR, CLUSTER_DNS_IP, CLUSTER_DOMAIN, NODE_ADDRESS, NODE_NAME, type NodeResources } from './layout.js';

export interface KubeletOptions {
  binary: string;
  kubeconfig: string;
  containerdSocket: string;
  /** The resolver file `dnsPolicy: Default` pods get (and so CoreDNS's and cluster-dns's `forward`). */
  resolvConf: string;
}

export async function startKubelet(r: NodeResources, o: KubeletOptions): Promise<ManagedProcess> {
  const root = join(r.dir, 'kubelet');
  await mkdir(join(r.dir, 'pod-logs'), { recursive: true });
  await mkdir(join(r.dir, 'volume-plugins'), { recursive: true });
  await mkdir(root, { recursive: true });
  const config = join(r.dir, 'kubelet-config.yaml');
  await writeFile(config, `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: ${r.cgroup}
containerRuntimeEndpoint: unix://${o.containerdSocket}
clusterDNS: [${CLUSTER_DNS_IP}]
clusterDomain: ${CLUSTER_DOMAIN}
resolvConf: ${o.resolvConf}
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
podLogsDir: ${join(r.dir, 'pod-logs')}
volumePluginDir: ${join(r.dir, 'volume-plugins')}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
imageMinimumGCAge: 87600h
evictionHard: {}
failSwapOn: false
serializeImagePulls: false
rotateCertificates: false
protectKernelDefaults: false
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
fileCheckFrequency: 10s
`);
  return startInNode(r, 'kubelet', o.binary, [
    `--config=${config}`, `--kubeconfig=${o.kubeconfig}`, `--root-dir=${root}`, `--cert-dir=${join(root, 'pki')}`,
    `--hostname-override=${NODE_NAME}`, `--node-ip=${NODE_ADDRESS}`, '--v=1',
  ]);
}

export async function startKubeProxy(r: NodeResources, binary: string, kubeconfig: string): Promise<ManagedProcess> {
  const config = join(r.dir, 'kube-proxy-config.yaml');
  // conntrack: maxPerCore 0 and zero timeouts leave the machine-wide conntrack sysctls alone (as kind does).
  await writeFile(config, `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: ${kubeconfig}
hostnameOverride: ${NODE_NAME}
clusterCIDR: ${CLUSTER_CIDR}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  syncPeriod: 5s
  minSyncPeriod: 0s
`);
  return startInNode(r, 'kube-proxy', binary, [`--config=${config}`, '--v=1']);
}
