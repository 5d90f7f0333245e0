// The env-var injector against a real kube-apiserver: `cluster-dns certs` makes the TLS material, the shipped
// MutatingWebhookConfiguration (from `kubectl kustomize manifests/webhook`, pointed at
// https://127.0.0.1:<port>/mutate and scoped to this suite's namespaces) is registered, `cluster-dns certs
// --patch-webhook` sets its caBundle, and `cluster-dns webhook` runs as a process watching the API server.
// Pods are created with kubectl and read back.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { createTestNamespace, getControlPlane, type ControlPlane } from '../cluster/root-hooks.js';
import { freePort } from '../cluster/ports.js';
import { get, waitReady } from '../cluster/probe.js';
import { ManagedProcess } from '../cluster/process.js';

const run = promisify(execFile);
const CLI = path.resolve('dist/src/cli.js');

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface Pod {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { containers: Array<{ name: string; env?: EnvVar[] }>; initContainers?: Array<{ name: string; env?: EnvVar[] }> };
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const lines = (env: EnvVar[] | undefined): string[] => (env ?? []).map((e) => `${e.name}=${e.value ?? ''}`);

describe('env-var injector against a real API server', function () {
  this.timeout(60_000);
  let cp: ControlPlane;
  let app: string;
  let quiet: string;
  let tlsDir: string;
  let webhookName: string;
  let port: number;
  let webhook: ManagedProcess | undefined;
  let logDir: string;

  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await cp.kubectl(args, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const createPod = async (namespace: string, pod: Record<string, unknown>): Promise<{ pod: Pod; stderr: string }> => {
    const r = await cp.kubectl(['create', '-n', namespace, '-o', 'json', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...pod }) });
    if (r.code !== 0) throw new Error(`kubectl create pod: ${r.stderr}`);
    return { pod: JSON.parse(r.stdout) as Pod, stderr: r.stderr };
  };
  const plainPod = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    metadata: { name },
    spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }], ...extra },
  });

  async function startWebhook(extra: string[] = []): Promise<void> {
    port = await freePort();
    const proc = new ManagedProcess('cluster-dns webhook', process.execPath, [
      CLI, 'webhook', '--kubeconfig', cp.kubeconfigPath, '--listen', `127.0.0.1:${port}`,
      '--tls-cert', path.join(tlsDir, 'tls.crt'), '--tls-key', path.join(tlsDir, 'tls.key'),
      '--own-namespace', 'cluster-dns', '--log-level', 'debug', ...extra,
    ], path.join(logDir, `webhook-${port}.log`));
    webhook = proc;
    const ca = fs.readFileSync(path.join(tlsDir, 'ca.crt'));
    await waitReady(proc, 30_000, async () => (await get(`https://127.0.0.1:${port}/readyz`, { ca })).status === 200);
  }

  /** Points the suite's webhook configuration at the current port. */
  async function pointAt(p: number): Promise<void> {
    await kubectl(['patch', 'mutatingwebhookconfiguration', webhookName, '--type', 'json', '-p', JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig/url', value: `https://127.0.0.1:${p}/mutate` }])]);
  }

  before(async function () {
    this.timeout(240_000); // may start the control plane
    cp = await getControlPlane();
    app = await createTestNamespace(cp, 'webhook-app');
    quiet = await createTestNamespace(cp, 'webhook-quiet');
    await kubectl(['label', 'namespace', quiet, 'cluster-dns.io/inject-env=disabled']);
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-webhook-'));
    tlsDir = path.join(logDir, 'tls');

    // Services of every kind in the pod namespace, and one in the opted-out namespace.
    const services = [
      { metadata: { name: 'web', namespace: app }, spec: { ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443, targetPort: 8443 }] } },
      { metadata: { name: 'dns', namespace: app }, spec: { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] } },
      { metadata: { name: 'node-port', namespace: app }, spec: { type: 'NodePort', ports: [{ port: 8080 }] } },
      { metadata: { name: 'headless', namespace: app }, spec: { clusterIP: 'None', ports: [{ port: 5432 }] } },
      { metadata: { name: 'ext', namespace: app }, spec: { type: 'ExternalName', externalName: 'example.com' } },
      { metadata: { name: 'web', namespace: quiet }, spec: { ports: [{ port: 80 }] } },
    ];
    await kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: services.map((s) => ({ apiVersion: 'v1', kind: 'Service', ...s })) }));

    const certs = await cli(['certs', '--out', tlsDir, '--hosts', '127.0.0.1']);
    assert.equal(certs.code, 0, certs.stderr);
    assert.match(certs.stdout, /wrote .*ca\.crt and ca\.key/);
    await startWebhook();

    // The shipped configuration, pointed at our process and scoped to this suite's namespaces.
    const built = await kubectl(['kustomize', path.resolve('manifests/webhook')]);
    const mwc = (yaml.loadAll(built) as Array<Record<string, any>>).find((o) => o['kind'] === 'MutatingWebhookConfiguration')!;
    webhookName = `cluster-dns-env-${path.basename(logDir).slice(-6).toLowerCase()}`;
    mwc['metadata']['name'] = webhookName;
    const hook = mwc['webhooks'][0];
    hook.clientConfig = { url: `https://127.0.0.1:${port}/mutate` };
    hook.namespaceSelector.matchExpressions.push({ key: 'cluster-dns.test/suite', operator: 'In', values: ['webhook-app', 'webhook-quiet'] });
    await kubectl(['create', '-f', '-'], JSON.stringify(mwc));

    // Same CA, new serving certificate (which the running webhook reloads), and the caBundle from the CLI.
    const patched = await cli(['certs', '--out', tlsDir, '--hosts', '127.0.0.1', '--kubeconfig', cp.kubeconfigPath, '--patch-webhook', webhookName]);
    assert.equal(patched.code, 0, patched.stderr);
    assert.match(patched.stdout, /reused .*ca\.crt/);
    assert.match(patched.stdout, new RegExp(`patched caBundle of mutatingwebhookconfiguration/${webhookName} \\(env\\.cluster-dns\\.io\\)`));

    // The API server picks up webhook configurations asynchronously: wait until a pod comes back mutated.
    const t0 = Date.now();
    for (let i = 0; ; i++) {
      const { pod } = await createPod(app, plainPod(`probe-${i}`));
      if (pod.spec.containers[0]!.env?.length) break;
      assert.ok(Date.now() - t0 < 20_000, 'the webhook configuration did not take effect within 20 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async function () {
    this.timeout(30_000);
    await webhook?.stop();
    if (webhookName) await cp.kubectl(['delete', 'mutatingwebhookconfiguration', webhookName, '--ignore-not-found']);
  });

  it('a new pod gets exactly what `cluster-dns env` prints for its namespace, in every container, init containers too', async () => {
    const expected = await cli(['env', '--kubeconfig', cp.kubeconfigPath, '--namespace', app]);
    assert.equal(expected.code, 0, expected.stderr);
    const want = expected.stdout.trim().split('\n');
    const { pod } = await createPod(app, {
      metadata: { name: 'full' },
      spec: { initContainers: [{ name: 'init', image: 'registry.k8s.io/pause:3.10' }], containers: [{ name: 'a', image: 'registry.k8s.io/pause:3.10' }, { name: 'b', image: 'registry.k8s.io/pause:3.10' }] },
    });
    for (const c of [...pod.spec.initContainers!, ...pod.spec.containers]) assert.deepEqual(lines(c.env), want, c.name);

    // Spot checks against the API's own values.
    const read = async (ns: string, name: string): Promise<string> => (JSON.parse(await kubectl(['get', 'service', '-n', ns, name, '-o', 'json'])) as { spec: { clusterIP: string } }).spec.clusterIP;
    const web = await read(app, 'web');
    const dns = await read(app, 'dns');
    const kubernetes = await read('default', 'kubernetes');
    const env = new Map(pod.spec.containers[0]!.env!.map((e) => [e.name, e.value]));
    assert.equal(env.get('KUBERNETES_SERVICE_HOST'), kubernetes);
    assert.equal(env.get('KUBERNETES_PORT'), `tcp://${kubernetes}:443`);
    assert.equal(env.get('WEB_SERVICE_HOST'), web);
    assert.equal(env.get('WEB_SERVICE_PORT'), '80');
    assert.equal(env.get('WEB_SERVICE_PORT_HTTPS'), '443');
    assert.equal(env.get('WEB_PORT_443_TCP'), `tcp://${web}:443`);
    assert.equal(env.get('DNS_PORT'), `udp://${dns}:53`);
    assert.equal(env.get('DNS_PORT_53_UDP_PROTO'), 'udp');
    assert.equal(env.get('DNS_PORT_53_TCP_PROTO'), 'tcp');
    assert.equal(env.get('DNS_SERVICE_PORT_DNS_TCP'), '53');
    assert.ok(env.has('NODE_PORT_SERVICE_HOST'));
    assert.ok(![...env.keys()].some((k) => k.startsWith('HEADLESS_') || k.startsWith('EXT_')), 'no headless or ExternalName variables');
  });

  it("a container's own entries stay first and untouched (an empty value too), with no duplicates", async () => {
    const own = [{ name: 'WEB_SERVICE_HOST', value: '' }, { name: 'GREETING', value: 'hello $(WEB_SERVICE_PORT)' }];
    const { pod } = await createPod(app, { metadata: { name: 'own-env' }, spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', env: own }] } });
    const env = pod.spec.containers[0]!.env!;
    assert.deepEqual(lines(env.slice(0, 2)), ['WEB_SERVICE_HOST=', 'GREETING=hello $(WEB_SERVICE_PORT)']); // the API drops an empty value
    assert.equal(env.filter((e) => e.name === 'WEB_SERVICE_HOST').length, 1);
    assert.ok(env.some((e) => e.name === 'WEB_SERVICE_PORT' && e.value === '80'));
  });

  it('enableServiceLinks: false: only the kubernetes service', async () => {
    const { pod } = await createPod(app, plainPod('no-links', { enableServiceLinks: false }));
    const names = (pod.spec.containers[0]!.env ?? []).map((e) => e.name);
    assert.ok(names.length > 0 && names.every((n) => n.startsWith('KUBERNETES_')), names.join());
  });

  it('a pod annotated cluster-dns.io/inject-env=disabled and a pod in a namespace so labelled are untouched', async () => {
    const { pod } = await createPod(app, { ...plainPod('opted-out'), metadata: { name: 'opted-out', annotations: { 'cluster-dns.io/inject-env': 'disabled' } } });
    assert.equal(pod.spec.containers[0]!.env, undefined);
    const other = await createPod(quiet, plainPod('quiet'));
    assert.equal(other.pod.spec.containers[0]!.env, undefined);
  });

  it('a container with envFrom is left to the kubelet; its neighbours get their variables', async () => {
    const { pod } = await createPod(app, {
      metadata: { name: 'env-from' },
      spec: { containers: [{ name: 'from', image: 'registry.k8s.io/pause:3.10', envFrom: [{ configMapRef: { name: 'settings', optional: true } }] }, { name: 'plain', image: 'registry.k8s.io/pause:3.10' }] },
    });
    assert.equal(pod.spec.containers[0]!.env, undefined);
    assert.ok(pod.spec.containers[1]!.env!.length > 0);
  });

  it('a server-side dry run is mutated the same way (sideEffects: None)', async () => {
    const out = await kubectl(['create', '-n', app, '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...plainPod('dry') }));
    assert.ok(((JSON.parse(out) as Pod).spec.containers[0]!.env ?? []).some((e) => e.name === 'WEB_SERVICE_HOST'));
  });

  it('a Service created a moment ago is in the next pod', async () => {
    await kubectl(['create', 'service', 'clusterip', 'late', '-n', app, '--tcp=9000:9000']);
    const t0 = Date.now();
    for (let i = 0; ; i++) {
      const { pod } = await createPod(app, plainPod(`late-${i}`));
      if (pod.spec.containers[0]!.env!.some((e) => e.name === 'LATE_SERVICE_HOST')) break;
      assert.ok(Date.now() - t0 < 2000, 'a new Service did not reach new pods within 2 s');
    }
  });

  it('over --max-env-bytes: no variables, and kubectl shows the warning', async () => {
    await webhook!.stop();
    await startWebhook(['--max-env-bytes', '200']);
    await pointAt(port);
    const t0 = Date.now();
    for (let i = 0; ; i++) {
      const { pod, stderr } = await createPod(app, plainPod(`big-${i}`));
      if (/Warning: cluster-dns: no service variables injected: \d+ service variables take \d+ bytes, over the limit of 200/.test(stderr)) {
        assert.equal(pod.spec.containers[0]!.env, undefined);
        break;
      }
      assert.ok(Date.now() - t0 < 20_000, `no warning within 20 s; last stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  it('with the webhook stopped, pods are still created, without variables (failurePolicy: Ignore)', async () => {
    await webhook!.stop();
    const t0 = Date.now();
    const { pod } = await createPod(app, plainPod('webhook-down'));
    assert.equal(pod.spec.containers[0]!.env, undefined);
    console.log(`      pod created in ${Date.now() - t0} ms with the webhook down`);
  });

  it('the manifests build with kubectl kustomize and pass a server-side dry run', async () => {
    const built = await kubectl(['kustomize', path.resolve('manifests/webhook')]);
    const docs = yaml.loadAll(built) as Array<{ kind: string; metadata: { name: string } }>;
    assert.deepEqual(docs.map((d) => d.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'MutatingWebhookConfiguration', 'Namespace', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    const mwc = docs.find((d) => d.kind === 'MutatingWebhookConfiguration') as unknown as { webhooks: Array<Record<string, unknown>> };
    assert.deepEqual(
      { sideEffects: mwc.webhooks[0]!['sideEffects'], failurePolicy: mwc.webhooks[0]!['failurePolicy'], reinvocationPolicy: mwc.webhooks[0]!['reinvocationPolicy'], timeoutSeconds: mwc.webhooks[0]!['timeoutSeconds'] },
      { sideEffects: 'None', failurePolicy: 'Ignore', reinvocationPolicy: 'IfNeeded', timeoutSeconds: 5 },
    );
    // The namespace for real (a dry-run namespace does not exist for the objects in it), the rest dry.
    const ns = docs.filter((d) => d.kind === 'Namespace');
    await kubectl(['apply', '-f', '-'], ns.map((d) => yaml.dump(d)).join('---\n'));
    await kubectl(['apply', '--dry-run=server', '-f', '-'], docs.filter((d) => d.kind !== 'Namespace').map((d) => yaml.dump(d)).join('---\n'));
  });
});

describe('env-var injector: command line', function () {
  this.timeout(60_000);

  const bad: Array<[string[], RegExp]> = [
    [['webhook', '--manifests', 'examples'], /^cluster-dns: webhook: --tls-cert and --tls-key are required/m],
    [['webhook', '--manifests', 'examples', '--tls-cert', 'no/such.crt', '--tls-key', 'no/such.key'], /^cluster-dns: --tls-cert no\/such\.crt \/ --tls-key no\/such\.key: ENOENT/m],
    [['webhook', '--listen', 'nowhere'], /^cluster-dns: --listen "nowhere": want HOST:PORT/m],
    [['webhook', '--max-env-bytes', '-5'], /^cluster-dns: --max-env-bytes: want an integer from 0 to 16777216/m],
    [['env', '--env-from-containers', 'sometimes'], /^cluster-dns: --env-from-containers: want one of skip, inject/m],
    [['certs'], /^cluster-dns: certs: --out DIR is required$/m],
    [['certs', '--out', os.tmpdir(), '--hosts', 'a b'], /^cluster-dns: --hosts: "a b" is neither a DNS name nor an IP address$/m],
    [['env', '--manifests', 'examples', '--pod', 'README.md'], /^cluster-dns: --pod README\.md: /m],
  ];
  for (const [args, message] of bad) {
    it(`stops with exit code 2 and one clear line: ${args.join(' ')}`, async () => {
      const r = await cli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }

  it('help lists the commands and each command its flags', async () => {
    const top = await cli(['--help']);
    for (const c of ['webhook', 'env', 'certs']) assert.match(top.stdout, new RegExp(`cluster-dns ${c} \\[flags\\]`));
    const flags: Record<string, string[]> = {
      webhook: ['--listen', '--tls-cert', '--tls-key', '--kubeconfig', '--manifests', '--own-namespace', '--max-env-bytes', '--env-from-containers'],
      env: ['--manifests', '--kubeconfig', '--namespace', '--pod', '--no-service-links'],
      certs: ['--out', '--hosts', '--valid-days', '--patch-webhook', '--kubeconfig'],
    };
    for (const [command, want] of Object.entries(flags)) {
      const help = await cli([command, '--help']);
      for (const f of want) assert.ok(help.stdout.includes(f), `${f} in ${command} --help`);
    }
  });

  it('env --pod prints each container after its own env, with the opt-outs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-env-'));
    const file = path.join(dir, 'pod.yaml');
    fs.writeFileSync(file, yaml.dump({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'demo' },
      spec: { enableServiceLinks: false, initContainers: [{ name: 'init', env: [{ name: 'KUBERNETES_SERVICE_HOST', value: 'mine' }] }], containers: [{ name: 'app' }, { name: 'cm', envFrom: [{ configMapRef: { name: 'x' } }] }] },
    }));
    const r = await cli(['env', '--manifests', 'examples', '--pod', file]);
    assert.equal(r.code, 0, r.stderr);
    const sections = new Map<string, string[]>();
    let current = '';
    for (const l of r.stdout.trim().split('\n')) {
      if (l.startsWith('# ')) sections.set((current = l.slice(2)), []);
      else sections.get(current)!.push(l);
    }
    assert.deepEqual([...sections.keys()], ['init container init', 'container app', 'container cm: has envFrom, left to the kubelet']);
    const init = sections.get('init container init')!;
    const main = sections.get('container app')!;
    assert.ok(main.includes('KUBERNETES_SERVICE_HOST=10.96.0.1'));
    assert.deepEqual(init, main.filter((l) => !l.startsWith('KUBERNETES_SERVICE_HOST=')), 'the init container declares KUBERNETES_SERVICE_HOST');
    assert.ok(main.every((l) => l.startsWith('KUBERNETES_')), 'enableServiceLinks: false');
    assert.deepEqual(sections.get('container cm: has envFrom, left to the kubelet'), []);
    fs.writeFileSync(file, yaml.dump({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { 'cluster-dns.io/inject-env': 'disabled' } }, spec: { containers: [{ name: 'app' }] } }));
    const skipped = await cli(['env', '--manifests', 'examples', '--namespace', 'demo', '--pod', file]);
    assert.equal(skipped.stdout, '# no variables: pod is annotated cluster-dns.io/inject-env=disabled\n');
  });

  it('webhook --manifests: ready at once, answers over HTTPS, stops on SIGTERM with its counters', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-wh-'));
    assert.equal((await cli(['certs', '--out', dir, '--hosts', '127.0.0.1,localhost'])).code, 0);
    const p = await freePort();
    const proc = new ManagedProcess('cluster-dns webhook', process.execPath, [CLI, 'webhook', '--manifests', 'examples', '--listen', `127.0.0.1:${p}`, '--tls-cert', path.join(dir, 'tls.crt'), '--tls-key', path.join(dir, 'tls.key')], path.join(dir, 'webhook.log'));
    try {
      const ca = fs.readFileSync(path.join(dir, 'ca.crt'));
      await waitReady(proc, 20_000, async () => (await get(`https://127.0.0.1:${p}/readyz`, { ca })).status === 200);
      const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'demo', operation: 'CREATE', object: { spec: { containers: [{ name: 'c' }] } } } };
      const stdout = await new Promise<string>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port: p, method: 'POST', path: '/mutate', ca, headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end(JSON.stringify(review));
      });
      const response = (JSON.parse(stdout) as { response: { uid: string; patch: string } }).response;
      assert.equal(response.uid, 'u-1');
      assert.match(Buffer.from(response.patch, 'base64').toString(), /"WEB_SERVICE_HOST","value":"10\.96\.100\.10"/);
    } finally {
      await proc.stop();
    }
    assert.equal(proc.exit?.code, 0, proc.readLog());
    assert.match(proc.readLog(), /"msg":"stopping","signal":"SIGTERM".*"reviews":1,"injected":1/);
  });
});
