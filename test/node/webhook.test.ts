// The env-var injector deployed on the real node as a user deploys it (README, "Env-var injector"):
// `kubectl apply -k manifests/webhook`, `cluster-dns certs --patch-webhook`, the TLS Secret. Then two pods in one
// namespace with the same Services: one whose variables come from the kubelet alone (the webhook opted out by
// annotation) and one mutated by the webhook, whose spec then carries every service variable (the kubelet adds its
// own only for names a spec lacks). The variables their running containers see must be the same. Then, over a few
// generated (seeded) sets of Services: a pod with `enableServiceLinks: true` left to the kubelet, and a pod with
// `enableServiceLinks: false` mutated by the webhook under `--service-links always`, must see the same variables.
// (Under the default `--service-links pod` the webhook, like the kubelet, gives a links-false pod only the
// `kubernetes` Service's variables: checked with a server-side dry run, which runs the webhook without a pod.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { getNodeCluster, type NodeCluster } from '../cluster/root-hooks.js';
import { dnsutilsPod, Kubectl } from '../helpers/node-pods.js';
import { rng } from '../helpers/rng.js';

const execFileP = promisify(execFile);
const CLI = resolve('dist/src/cli.js');
const NS = 'webhook-test';
const SEED = Number(process.env['ENV_SETS_SEED'] ?? Date.now() % 1_000_000);
const SETS = 3;

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
  it('under the default --service-links pod, a pod with enableServiceLinks: false gets only the kubernetes variables', async () => {
    const pod = dnsutilsPod(NS, 'links-off-dry-run', { enableServiceLinks: false });
    const created = JSON.parse(await k.run(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(pod))) as PodJson;
    const names = (created.spec.containers[0]!.env ?? []).map((e) => e.name);
    assert.ok(names.includes('KUBERNETES_SERVICE_HOST'), `the webhook gave nothing: ${names.join(' ')}`);
    assert.deepEqual(names.filter((n) => !n.startsWith('KUBERNETES_')), []);
  });

  it(`enableServiceLinks: false + the webhook (--service-links always) = enableServiceLinks: true + the kubelet, over ${SETS} generated service sets (seed ${SEED}, ENV_SETS_SEED replays)`, async function () {
    this.timeout(600_000);
    await k.run(['-n', 'cluster-dns', 'set', 'env', 'deployment/cluster-dns-webhook', 'CLUSTER_DNS_SERVICE_LINKS=always']);
    await k.run(['-n', 'cluster-dns', 'rollout', 'status', 'deployment/cluster-dns-webhook', '--timeout=180s'], undefined, 190_000);
    const random = rng(SEED);
    for (let set = 0; set < SETS; set++) {
      const ns = `env-set-${set}`;
      const services = generateServices(random, ns, set === 1);
      await k.run(['create', 'namespace', ns]);
      await k.waitForDefaultServiceAccount(ns);
      await k.apply(services);
      const clusterIpNames = services.filter((svc) => svc.spec['type'] !== 'ExternalName' && svc.spec['clusterIP'] !== 'None').map((svc) => svc.metadata.name);
      const expectHosts = clusterIpNames.map((n) => `${n.toUpperCase().replaceAll('-', '_')}_SERVICE_HOST`);
      const linksOff = dnsutilsPod(ns, 'links-off-webhook', { enableServiceLinks: false });
      // The webhook learns the Services through its watch: dry-run until it has seen them all, then create.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const dry = JSON.parse(await k.run(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(linksOff))) as PodJson;
        const names = new Set((dry.spec.containers[0]!.env ?? []).map((e) => e.name));
        if (expectHosts.every((h) => names.has(h))) break;
        assert.ok(Date.now() < deadline, `set ${set} (seed ${SEED}): the webhook did not give ${expectHosts.filter((h) => !names.has(h)).join(' ')} within 30 s`);
        await new Promise((r) => setTimeout(r, 500));
      }
      const linksOn = dnsutilsPod(ns, 'links-on-kubelet');
      (linksOn['metadata'] as { annotations?: Record<string, string> }).annotations = { 'cluster-dns.io/inject-env': 'disabled' };
      await k.apply([linksOff, linksOn]);
      await k.run(['-n', ns, 'wait', '--for=condition=Ready', 'pod/links-off-webhook', 'pod/links-on-kubelet', '--timeout=120s'], undefined, 130_000);
      const fromKubelet = serviceVariables(await k.exec(ns, 'links-on-kubelet', ['env']));
      const fromWebhook = serviceVariables(await k.exec(ns, 'links-off-webhook', ['env']));
      const described = services.map((svc) => `${svc.metadata.name}(${JSON.stringify(svc.spec)})`).join(' ');
      for (const h of expectHosts) assert.ok(fromKubelet.some((l) => l.startsWith(`${h}=`)), `set ${set} (seed ${SEED}): the kubelet gave no ${h}: ${described}`);
      assert.ok(fromKubelet.some((l) => /^MIXED_V6_PORT_9899_SCTP_ADDR=fd00:10:96::/.test(l)), `set ${set}: no IPv6 SCTP variables from the kubelet: ${fromKubelet.join(' ')}`);
      assert.deepEqual(fromWebhook, fromKubelet, `set ${set} (seed ${SEED}): ${described}`);
      await k.run(['delete', 'namespace', ns, '--wait=false']);
    }
  });
});

interface PodJson { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } }
interface ServiceJson { apiVersion: 'v1'; kind: 'Service'; metadata: { name: string; namespace: string }; spec: Record<string, unknown> }

/**
 * A random set of Services for one namespace: dashed and digit-bearing names, one to four ports over TCP, UDP and
 * SCTP (named when more than one, as the API requires), a quarter IPv6-only, NodePorts, and a headless and an
 * ExternalName Service (which give no variables); with `ownKubernetes`, a `kubernetes` Service of the namespace's
 * own, which replaces default's in both the kubelet's set and the webhook's. (Service and port names cannot hold
 * dots: the API takes only DNS-1035 labels and IANA service names.)
 */
function generateServices(random: () => number, namespace: string, ownKubernetes: boolean): ServiceJson[] {
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const pool = ['web', 'a-b-c', 'x1', 'api-v2', 'dns-cache', 'k8s-api-2', 'redis-master', 'svc-9'];
  const names = pool.filter(() => random() < 0.6);
  if (names.length === 0) names.push('web');
  if (ownKubernetes) names.push('kubernetes');
  const portNames = ['http', 'dns', 'grpc-web', 'p2', 'metrics-1'];
  const services: ServiceJson[] = names.map((name) => {
    // Its own `kubernetes` keeps default's one port: for a name default's makes and the namespace's does not
    // (KUBERNETES_PORT_443_TCP when its own listens elsewhere), the kubelet still adds default's value to a
    // links-off pod, and a webhook cannot take a variable away (docs/webhook.md).
    if (name === 'kubernetes') return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ name: 'https', port: 443, protocol: 'TCP' }] } };
    const ports: Array<Record<string, unknown>> = [];
    const count = int(1, 4);
    const used = new Set<string>();
    while (ports.length < count) {
      const port = random() < 0.3 ? 53 : int(1, 65535);
      const protocol = (['TCP', 'TCP', 'UDP', 'SCTP'] as const)[int(0, 3)]!;
      if (used.has(`${port}/${protocol}`)) continue;
      used.add(`${port}/${protocol}`);
      ports.push({ port, protocol, ...(count > 1 ? { name: portNames[ports.length]! } : {}) });
    }
    const spec: Record<string, unknown> = { ports, type: random() < 0.2 ? 'NodePort' : 'ClusterIP' };
    if (random() < 0.25) Object.assign(spec, { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' });
    return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec };
  });
  services.push(
    // Whatever the seed: one IPv6 Service with UDP, TCP and SCTP ports on it.
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'mixed-v6', namespace }, spec: { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack',
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }, { name: 'assoc', port: 9899, protocol: 'SCTP' }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'headless-db', namespace }, spec: { clusterIP: 'None', ports: [{ port: 5432 }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace }, spec: { type: 'ExternalName', externalName: 'www.example.test' } },
  );
  return services;
}
