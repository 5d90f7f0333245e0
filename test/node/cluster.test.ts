// The real node itself (test/cluster/node/): what `npm run cluster -- --node` promises before it prints KUBECONFIG=,
// checked from outside — the node on containerd, the kubelet's DNS settings, kubeadm's CoreDNS, the network
// isolation that keeps every packet on this machine — and a readiness test of the server's Deployment: a pod whose
// /ready says no is not in the Service's endpoints.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { KUBEADM_COREFILE } from '../cluster/node/coredns-addon.js';
import { fullImageName, REQUIRED_IMAGES, CLUSTER_DNS_IMAGE } from '../cluster/node/images.js';
import { CLUSTER_DNS_IP, CLUSTER_DOMAIN, NODE_NAME } from '../cluster/node/layout.js';
import { assertIsolated, nodeRoutes } from '../cluster/node/network.js';
import { getNodeCluster, type NodeCluster } from '../cluster/root-hooks.js';
import { Kubectl } from '../helpers/node-pods.js';

describe('the real node', function () {
  this.timeout(60_000);
  let cluster: NodeCluster;
  let k: Kubectl;

  before(async function () {
    this.timeout(600_000); // the first caller starts the node
    cluster = await getNodeCluster();
    k = new Kubectl(cluster);
  });

  it('is Ready on containerd, with the kubelet serving cluster.local from 10.96.0.10', async () => {
    const node = await k.json<{ status: { nodeInfo: { containerRuntimeVersion: string; kubeletVersion: string }; conditions: Array<{ type: string; status: string }>; addresses: Array<{ type: string; address: string }> } }>(['get', 'node', NODE_NAME]);
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.35.4');
    assert.ok(node.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
    assert.deepEqual(node.status.addresses.find((a) => a.type === 'InternalIP')?.address, cluster.nodeAddress);
    const configz = JSON.parse(await k.run(['get', '--raw', `/api/v1/nodes/${NODE_NAME}/proxy/configz`])) as { kubeletconfig: { clusterDNS: string[]; clusterDomain: string } };
    assert.deepEqual(configz.kubeletconfig.clusterDNS, [CLUSTER_DNS_IP]);
    assert.equal(configz.kubeletconfig.clusterDomain, CLUSTER_DOMAIN);
  });

  it('has every image the manifests name, none of them pulled', async () => {
    const node = await k.json<{ status: { images: Array<{ names: string[] }> } }>(['get', 'node', NODE_NAME]);
    const names = new Set(node.status.images.flatMap((i) => i.names));
    for (const image of REQUIRED_IMAGES) assert.ok(names.has(fullImageName(image)), `${image} is not on the node`);
    const deployment = readFileSync('manifests/dns/deployment.yaml', 'utf8');
    assert.match(deployment, new RegExp(`image: ${CLUSTER_DNS_IMAGE.replace(/\./g, '\\.')}\\n\\s+imagePullPolicy: IfNotPresent`));
  });

  it('runs CoreDNS as kubeadm v1.35 deploys it', async () => {
    const deployment = await k.json<{ metadata: { labels: Record<string, string> }; spec: { replicas: number }; status: { readyReplicas?: number } }>(['-n', 'kube-system', 'get', 'deployment', 'coredns']);
    assert.equal(deployment.metadata.labels['k8s-app'], 'kube-dns');
    assert.equal(deployment.spec.replicas, 2);
    const configMap = await k.json<{ data: { Corefile: string } }>(['-n', 'kube-system', 'get', 'configmap', 'coredns']);
    assert.equal(configMap.data.Corefile, KUBEADM_COREFILE);
    const service = await k.json<{ spec: { clusterIP: string; ports: Array<{ name: string; port: number; protocol: string }> } }>(['-n', 'kube-system', 'get', 'service', 'kube-dns']);
    assert.equal(service.spec.clusterIP, CLUSTER_DNS_IP);
    assert.deepEqual(service.spec.ports.map((p) => `${p.name} ${p.port}/${p.protocol}`), ['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP']);
  });

  it('keeps every packet on this machine: no default route in the node namespace, host forwarding untouched', async () => {
    await assertIsolated(cluster.resources);
    const routes = await nodeRoutes(cluster.resources);
    assert.doesNotMatch(routes, /^default/m);
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), cluster.hostForwarding);
  });
});
