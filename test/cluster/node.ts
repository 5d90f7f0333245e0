// A fake Node for pods to "run" on.
//
// There is no kubelet: tests create Pods with spec.nodeName set and patch their status themselves. The
// EndpointSlice controller looks the pod's Node up (for its topology labels) and skips pods whose Node does not
// exist, so we register one and mark it Ready. Nothing will ever mark it NotReady: the node-lifecycle controller
// is deliberately not run.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export async function registerReadyNode(kubeconfigPath: string, name: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNode({
    body: { metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } } },
  });
  const now = new Date();
  // Status is a subresource: it is ignored on create and must be written separately (JSON Patch, the default).
  await core.patchNodeStatus({
    name,
    body: [{
      op: 'add',
      path: '/status/conditions',
      value: [{
        type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'cluster-dns test harness',
        lastHeartbeatTime: now, lastTransitionTime: now,
      }],
    }],
  });
}
