// The server's readiness decides when kube-proxy sends it traffic: a pod of the shipped Deployment whose /ready says
// "not ready" (here: its ServiceAccount may not list anything yet, so it cannot sync) stays out of its Service's
// ready endpoints, and joins them once /ready says OK (after the RBAC is granted). The pod template is the one of
// manifests/dns/deployment.yaml, moved to a test namespace with its own ServiceAccount and Service.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { getNodeCluster, type NodeCluster } from '../cluster/root-hooks.js';
import { eventually } from '../helpers/eventually.js';
import { Kubectl } from '../helpers/node-pods.js';

const NS = 'readiness-test';
const APP = 'probe-dns';

interface Deployment {
  metadata: Record<string, unknown>;
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> & { volumes: Array<{ configMap?: { name: string } }> } } };
}

interface Slice {
  endpoints?: Array<{ conditions?: { ready?: boolean } }>;
}

describe("the server's readiness on the real node", function () {
  this.timeout(120_000);
  let cluster: NodeCluster;
  let k: Kubectl;

  const readyEndpoints = async (): Promise<{ ready: number; notReady: number }> => {
    const slices = await k.json<{ items: Slice[] }>(['-n', NS, 'get', 'endpointslices', '-l', `kubernetes.io/service-name=${APP}`]);
    const endpoints = slices.items.flatMap((s) => s.endpoints ?? []);
    return { ready: endpoints.filter((e) => e.conditions?.ready === true).length, notReady: endpoints.filter((e) => e.conditions?.ready !== true).length };
  };
  const readyz = async (pod: string): Promise<{ code: number; body: string }> => {
    const res = await cluster.kubectl(['get', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}:8181/proxy/ready`]);
    return { code: res.code, body: `${res.stdout}${res.stderr}` };
  };

  before(async function () {
    this.timeout(600_000); // may start the node
    cluster = await getNodeCluster();
    k = new Kubectl(cluster);
    await k.run(['create', 'namespace', NS]);
    await k.waitForDefaultServiceAccount(NS);
    const deployment = yaml.load(readFileSync('manifests/dns/deployment.yaml', 'utf8')) as Deployment;
    deployment.metadata = { name: APP, namespace: NS };
    deployment.spec.replicas = 1;
    deployment.spec.selector.matchLabels = { app: APP };
    deployment.spec.template.metadata.labels = { app: APP };
    deployment.spec.template.spec['serviceAccountName'] = APP;
    delete deployment.spec.template.spec['priorityClassName']; // system-cluster-critical is for kube-system only
    deployment.spec.template.spec.volumes[0]!.configMap!.name = APP;
    await k.apply([
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: APP, namespace: NS } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: APP, namespace: NS }, data: { 'config.yaml': readFileSync('manifests/dns/config.yaml', 'utf8') } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: APP, namespace: NS }, spec: { selector: { app: APP }, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } },
      { apiVersion: 'apps/v1', kind: 'Deployment', ...deployment },
    ]);
  });

  after(async () => {
    await k?.run(['delete', 'clusterrolebinding,clusterrole', APP, '--ignore-not-found']).catch(() => undefined);
  });

  it('keeps a pod whose /ready says no out of the ready endpoints, and lets it in once /ready says OK', async function () {
    this.timeout(180_000);
    await k.run(['-n', NS, 'wait', '--for=jsonpath={.status.containerStatuses[0].started}=true', 'pod', '-l', `app=${APP}`, '--timeout=90s'], undefined, 100_000);
    const pod = (await k.run(['-n', NS, 'get', 'pods', '-l', `app=${APP}`, '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
    // Several probe periods (2 s each) with the server unable to sync: never ready.
    for (let i = 0; i < 5; i++) {
      const ready = await readyz(pod);
      assert.notEqual(ready.code, 0, `/ready answered OK without a sync: ${ready.body}`);
      assert.match(ready.body, /ServiceUnavailable|not ready|connection refused/); // the pod proxy's 503; refused before the server binds its ports (after a first sync wait)
      const endpoints = await readyEndpoints();
      assert.equal(endpoints.ready, 0, 'a pod that is not ready is a ready endpoint');
      await new Promise((r) => setTimeout(r, 2000));
    }
    // The EndpointSlice controller lists the pod once it has an address; on a busy machine that can trail the
    // container's start, so wait for it (stopping at once should it be listed as ready).
    let endpoints = await readyEndpoints();
    await eventually(30_000, 'the pod is listed, as not ready', async () => (endpoints = await readyEndpoints()).notReady === 1 || endpoints.ready > 0, 500).catch(async (err: Error) => {
      const status = await k.run(['-n', NS, 'get', 'pod', pod, '-o', 'jsonpath={.status}']).catch((e: Error) => e.message);
      assert.fail(`${err.message} (endpoints ${JSON.stringify(endpoints)}; pod status ${status})`);
    });
    assert.equal(endpoints.ready, 0, 'a pod that is not ready is a ready endpoint');

    const role = yaml.load(readFileSync('manifests/dns/clusterrole.yaml', 'utf8')) as { metadata: Record<string, unknown> };
    role.metadata = { name: APP };
    await k.apply([
      role,
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: APP },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: APP },
        subjects: [{ kind: 'ServiceAccount', name: APP, namespace: NS }] },
    ]);
    await eventually(90_000, 'the pod a ready endpoint once granted its RBAC', async () => (await readyEndpoints()).ready > 0, 500);
    assert.equal((await readyz(pod)).code, 0, '/ready says OK once the pod is a ready endpoint');
  });
});
