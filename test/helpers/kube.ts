// Small wrappers over @kubernetes/client-node for integration tests: create Services and Pods, and set pod
// status (IP, Ready) the way a kubelet would, so the real EndpointSlice controller writes the slices.
import { CoreV1Api, DiscoveryV1Api, type KubeConfig, type V1Pod, type V1Service } from '@kubernetes/client-node';

export class Kube {
  readonly core: CoreV1Api;
  readonly discovery: DiscoveryV1Api;
  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
  }

  createService(namespace: string, name: string, spec: V1Service['spec']): Promise<V1Service> {
    return this.core.createNamespacedService({ namespace, body: { metadata: { name }, spec } });
  }

  async createReadyPod(namespace: string, name: string, ip: string, opts: { labels?: Record<string, string>; hostname?: string; subdomain?: string; ready?: boolean } = {}): Promise<V1Pod> {
    await this.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels: opts.labels ?? {} },
        spec: {
          nodeName: 'node-1',
          hostname: opts.hostname,
          subdomain: opts.subdomain,
          containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }],
        },
      },
    });
    return this.setPodStatus(namespace, name, ip, opts.ready ?? true);
  }

  async setPodStatus(namespace: string, name: string, ip: string, ready: boolean): Promise<V1Pod> {
    const pod = await this.core.readNamespacedPod({ namespace, name });
    const now = new Date();
    pod.status = {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: '127.0.0.1',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }],
    };
    return this.core.replaceNamespacedPodStatus({ namespace, name, body: pod });
  }
}

