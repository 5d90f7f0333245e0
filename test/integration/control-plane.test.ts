// Proves the test control plane is a real one: the kube-controller-manager's EndpointSlice controller turns a
// Service and two Ready Pods (bound to the fake node-1, status written by the test since there is no kubelet)
// into an EndpointSlice, visible both to kubectl and to @kubernetes/client-node.
import { eventually } from '../helpers/eventually.js';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, DiscoveryV1Api, type V1EndpointSlice } from '@kubernetes/client-node';
import { createTestNamespace, getControlPlane, kubeConfigFor, type ControlPlane } from '../cluster/root-hooks.js';

const SERVICE = 'web';
const PODS = [
  { name: 'web-0', ip: '10.244.0.10' },
  { name: 'web-1', ip: '10.244.0.11' },
];

/** Reads until `done` accepts the result (the controller works asynchronously), then returns it. */
async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, deadlineMs = 15_000): Promise<T> {
  let value!: T;
  await eventually(deadlineMs, 'the EndpointSlice is complete', async () => done((value = await read())), 200);
  return value;
}

interface Endpoint { addresses: string[]; ready: boolean | undefined }

function endpointsOf(slices: V1EndpointSlice[]): Endpoint[] {
  return slices
    .flatMap((s) => s.endpoints ?? [])
    .map((e) => ({ addresses: e.addresses, ready: e.conditions?.ready }))
    .sort((a, b) => (a.addresses[0] ?? '').localeCompare(b.addresses[0] ?? ''));
}

const expected: Endpoint[] = PODS.map((p) => ({ addresses: [p.ip], ready: true }));
const complete = (endpoints: Endpoint[]): boolean => JSON.stringify(endpoints) === JSON.stringify(expected);

describe('test control plane (etcd + kube-apiserver + kube-controller-manager)', function () {
  let cp: ControlPlane;
  let ns: string;

  before(async function () {
    this.timeout(120_000); // the first caller of getControlPlane() starts it
    cp = await getControlPlane();
    ns = await createTestNamespace(cp, 'control-plane');
    const core = kubeConfigFor(cp).makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: SERVICE },
        spec: { selector: { app: SERVICE }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
      },
    });
    for (const pod of PODS) {
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: pod.name, labels: { app: SERVICE } },
          // Bound to the fake node directly: there is no scheduler, and no kubelet will ever run the container.
          spec: { nodeName: cp.nodeName, containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10' }] },
        },
      });
      const now = new Date();
      // What a kubelet would report for a started, ready container (JSON Patch on the status subresource).
      await core.patchNamespacedPodStatus({
        name: pod.name,
        namespace: ns,
        body: [
          { op: 'add', path: '/status/phase', value: 'Running' },
          { op: 'add', path: '/status/podIP', value: pod.ip },
          { op: 'add', path: '/status/podIPs', value: [{ ip: pod.ip }] },
          { op: 'add', path: '/status/hostIP', value: '127.0.0.1' },
          { op: 'add', path: '/status/startTime', value: now },
          { op: 'add', path: '/status/conditions', value: [
            { type: 'Ready', status: 'True', lastTransitionTime: now },
            { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
          ] },
        ],
      });
    }
  });

  it('registers node-1 as Ready', async function () {
    const { stdout, code, stderr } = await cp.kubectl(['get', 'node', cp.nodeName, '-o', 'json']);
    assert.equal(code, 0, stderr);
    const node = JSON.parse(stdout) as { status: { conditions: { type: string; status: string }[] } };
    assert.ok(node.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
  });

  it('publishes an EndpointSlice with both ready pods, read with kubectl', async function () {
    this.timeout(30_000);
    const read = async (): Promise<Endpoint[]> => {
      const { stdout, stderr, code } = await cp.kubectl(['get', 'endpointslices', '-n', ns,
        '-l', `kubernetes.io/service-name=${SERVICE}`, '-o', 'json']);
      assert.equal(code, 0, stderr);
      const list = JSON.parse(stdout) as { items: V1EndpointSlice[] };
      return endpointsOf(list.items);
    };
    assert.deepEqual(await poll(read, complete), expected);
  });

  it('publishes the same EndpointSlice to @kubernetes/client-node (DiscoveryV1Api)', async function () {
    this.timeout(30_000);
    const discovery = kubeConfigFor(cp).makeApiClient(DiscoveryV1Api);
    const read = async (): Promise<{ endpoints: Endpoint[]; slices: V1EndpointSlice[] }> => {
      const list = await discovery.listNamespacedEndpointSlice({
        namespace: ns, labelSelector: `kubernetes.io/service-name=${SERVICE}`,
      });
      return { slices: list.items, endpoints: endpointsOf(list.items) };
    };
    const { endpoints, slices } = await poll(read, (r) => complete(r.endpoints));
    assert.deepEqual(endpoints, expected);
    assert.equal(slices.length, 1);
    // Written by the controller manager, not by anything in this process.
    assert.equal(slices[0]?.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.deepEqual(slices[0]?.endpoints?.map((e) => e.nodeName), [cp.nodeName, cp.nodeName]);
    assert.equal(slices[0]?.addressType, 'IPv4');
    assert.deepEqual(slices[0]?.ports?.map((p) => [p.name, p.port, p.protocol]), [['http', 8080, 'TCP']]);
  });
});
