// The env-var injector deployed on the real node as a user deploys it (README, "Env-var injector"):
// `kubectl apply -k manifests/webhook`, `cluster-dns certs --patch-webhook`, the TLS Secret. Then two pods in one
// namespace with the same Services: one whose variables come from the kubelet alone (the webhook opted out by
// annotation) and one mutated by the webhook, whose spec then carries every service variable (the kubelet adds its
// own only for names a spec lacks). The variables their running containers see must be the same. (With
// `enableServiceLinks: false` the webhook, like the kubelet, gives only the `kubernetes` Service's variables.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { getNodeCluster, type NodeCluster } from '../cluster/root-hooks.js';
import { dnsutilsPod, Kubectl } from '../helpers/node-pods.js';

const execFileP = promisify(execFile);
const CLI = resolve('dist/src/cli.js');
const NS = 'webhook-test';

/** Service variables of a container's environment: the names the kubelet's rules make, sorted. */
function serviceVariables(env: string): string[] {
  return env.split('\n').filter((l) => /^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT|SERVICE_PORT_[A-Z0-9_]+|PORT|PORT_\d+_[A-Z]+(_PROTO|_PORT|_ADDR)?)=/.test(l)).sort();
}

describe('env-var injector on the real node', function () {
  this.timeout(120_000);
  let cluster: NodeCluster;
  let k: Kubectl;
  let tls: string;

  before(async function () {
    this.timeout(600_000); // may start the node
    cluster = await getNodeCluster();
    k = new Kubectl(cluster);
    tls = mkdtempSync(join(tmpdir(), 'cdns-webhook-tls-'));
    await k.run(['apply', '-k', resolve('manifests/webhook')]);
    const certs = await execFileP(process.execPath, [CLI, 'certs', '--out', tls, '--kubeconfig', cluster.kubeconfigPath, '--patch-webhook', 'cluster-dns-env']);
    assert.match(certs.stdout, /patched caBundle of mutatingwebhookconfiguration\/cluster-dns-env/);
    await k.run(['-n', 'cluster-dns', 'create', 'secret', 'tls', 'cluster-dns-webhook-tls', '--cert', join(tls, 'tls.crt'), '--key', join(tls, 'tls.key')]);
    await k.run(['-n', 'cluster-dns', 'rollout', 'status', 'deployment/cluster-dns-webhook', '--timeout=180s'], undefined, 190_000);
    await k.run(['create', 'namespace', NS]);
    await k.waitForDefaultServiceAccount(NS);
    await k.apply([
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS },
        spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'https-alt', port: 443, targetPort: 8443 }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'dns-cache', namespace: NS },
        spec: { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'one-port', namespace: NS }, spec: { ports: [{ port: 6379 }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'headless', namespace: NS }, spec: { clusterIP: 'None', ports: [{ port: 5432 }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: NS }, spec: { type: 'ExternalName', externalName: 'www.example.test' } },
    ]);
  });

  after(async function () {
    this.timeout(60_000);
    rmSync(tls, { recursive: true, force: true });
    // The webhook would mutate pods of later suites: take it out again.
    await k?.run(['delete', '-k', resolve('manifests/webhook'), '--ignore-not-found', '--wait=false']).catch(() => undefined);
  });

  it('gives a pod the variables the kubelet would have given it', async () => {
    // The API server learns webhook configurations asynchronously, and the webhook learns the Services just made
    // through its watch: the first pods may be admitted without the webhook, or before it has seen every Service.
    const deadline = Date.now() + 30_000;
    let attempt = 0;
    let fromWebhook: Record<string, unknown> | undefined;
    let specEnv: Array<{ name: string; value?: string }> = [];
    for (;;) {
      const name = `from-webhook-${attempt++}`;
      const pod = dnsutilsPod(NS, name);
      const created = JSON.parse(await k.run(['create', '-o', 'json', '-f', '-'], JSON.stringify(pod))) as { spec: { containers: Array<{ env?: unknown[] }> } };
      specEnv = (created.spec.containers[0]!.env ?? []) as typeof specEnv;
      if (specEnv.some((e) => e.name === 'WEB_SERVICE_PORT_HTTPS_ALT')) {
        fromWebhook = pod;
        break;
      }
      assert.ok(Date.now() < deadline, 'no pod got the Services\' variables from the webhook within 30 s of it being ready');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const webhookPod = (fromWebhook!['metadata'] as { name: string }).name;
    const kubeletPod = dnsutilsPod(NS, 'from-kubelet');
    (kubeletPod['metadata'] as { annotations?: Record<string, string> }).annotations = { 'cluster-dns.io/inject-env': 'disabled' };
    await k.apply([kubeletPod]);
    await k.run(['-n', NS, 'wait', '--for=condition=Ready', `pod/${webhookPod}`, 'pod/from-kubelet', '--timeout=120s'], undefined, 130_000);

    const fromKubelet = serviceVariables(await k.exec(NS, 'from-kubelet', ['env']));
    const injected = serviceVariables(await k.exec(NS, webhookPod, ['env']));
    assert.ok(fromKubelet.some((l) => l.startsWith('WEB_SERVICE_PORT_HTTPS_ALT=')), `the kubelet gave no variables for web: ${fromKubelet.join(' ')}`);
    assert.ok(fromKubelet.some((l) => l.startsWith('KUBERNETES_SERVICE_HOST=')));
    assert.ok(fromKubelet.some((l) => l.startsWith('DNS_CACHE_PORT_53_UDP_PROTO=udp')));
    assert.deepEqual(injected, fromKubelet);
    // …and they came from the webhook: its pod's spec holds every one of them.
    assert.deepEqual(serviceVariables(specEnv.map((e) => `${e.name}=${e.value ?? ''}`).join('\n')), fromKubelet);
  });
});
