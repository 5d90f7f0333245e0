// The deployment, checked without a container engine (issue #7): every kustomization builds from the files a clone
// has and passes a server-side dry run; the RBAC is proven by running `cluster-dns serve` in-cluster style with
// nothing but a token minted for the manifests' ServiceAccount; the token is rotated under a running server; and
// the Deployment's container args, ports and probes are run and probed as the kubelet would.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { loadConfig, type ListenAddress } from '../../src/config/config.js';
import { importCorefile } from '../../src/corefile/import.js';
import { binaryPath } from '../cluster/binaries.js';
import { freePort } from '../cluster/ports.js';
import { createTestNamespace, getControlPlane, kubeConfigFor, type ControlPlane } from '../cluster/root-hooks.js';
import { dig, digValues } from '../helpers/dig.js';
import { Kube } from '../helpers/kube.js';
import { eventually } from '../helpers/eventually.js';

const run = promisify(execFile);
const CLI = path.resolve('dist/src/cli.js');
const SA = 'system:serviceaccount:kube-system:cluster-dns';
const KIND_COREFILE = fs.readFileSync('test/fixtures/kind.Corefile', 'utf8');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

// Minimal shapes of what the tests read from the built manifests.
interface Probe { httpGet: { path: string; port: number; scheme?: string } }
interface ContainerPort { name: string; containerPort: number; protocol: string }
interface Container {
  image: string;
  args: string[];
  ports: ContainerPort[];
  readinessProbe: Probe;
  livenessProbe: Probe;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; capabilities: { drop: string[]; add: string[] } };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  serviceAccountName: string;
  priorityClassName: string;
  dnsPolicy: string;
  nodeSelector: Record<string, string>;
  tolerations: Array<{ key: string; operator?: string; effect?: string }>;
  topologySpreadConstraints?: Array<{ topologyKey: string; whenUnsatisfiable: string; labelSelector: { matchLabels: Record<string, string> } }>;
  affinity?: { podAntiAffinity?: unknown };
  securityContext: { runAsNonRoot: boolean; runAsUser: number; sysctls: Array<{ name: string; value: string }> };
  containers: Container[];
  volumes: Array<{ name: string; configMap?: { name: string } }>;
}
interface Deployment extends K8sObject {
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}
interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }

/** Folders under manifests/ that have a kustomization.yaml, relative to the repository root. */
function kustomizations(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    if (fs.existsSync(path.join(dir, 'kustomization.yaml'))) out.push(dir);
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name));
  };
  walk('manifests');
  return out.sort();
}

async function kustomize(dir: string): Promise<K8sObject[]> {
  const { stdout } = await run(binaryPath('kubectl'), ['kustomize', dir], { maxBuffer: 16 << 20 });
  return yaml.loadAll(stdout) as K8sObject[];
}

function only<T extends K8sObject>(objects: K8sObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0] as T;
}

/** kube-apiserver port of the test control plane. */
const apiPort = (cp: ControlPlane): string => new URL(cp.server).port;

/** A service-account folder as the kubelet lays it out (files are symlinks into ..data, swapped atomically). */
class ServiceAccountDir {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-sa-'));
  private n = 0;
  constructor(token: string, caFile: string) {
    this.write(token, caFile);
    for (const f of ['token', 'ca.crt', 'namespace']) fs.symlinkSync(path.join('..data', f), path.join(this.dir, f));
  }
  write(token: string, caFile = path.join(this.dir, 'ca.crt')): void {
    const ts = path.join(this.dir, `..${Date.now()}_${this.n++}`);
    fs.mkdirSync(ts);
    fs.copyFileSync(caFile, path.join(ts, 'ca.crt'));
    fs.writeFileSync(path.join(ts, 'token'), token);
    fs.writeFileSync(path.join(ts, 'namespace'), 'kube-system');
    fs.symlinkSync(path.basename(ts), path.join(this.dir, '..data_tmp'));
    fs.renameSync(path.join(this.dir, '..data_tmp'), path.join(this.dir, '..data'));
  }
}

interface Running {
  child: ChildProcess;
  /** Runs `fn`; a failure also shows the server's log. */
  check(fn: () => Promise<void>): Promise<void>;
  port: number;
  stderr(): string;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();

/** `cluster-dns serve` as a pod runs it: no kubeconfig, KUBERNETES_SERVICE_HOST/PORT and a service-account folder. */
async function serveInCluster(saDir: string, host: string, port: string, args: string[], dnsPort?: number): Promise<Running> {
  const dns = dnsPort ?? (await freePort());
  const child = spawn(process.execPath, [CLI, ...args, '--service-account-dir', saDir, ...(dnsPort === undefined ? ['--dns-addr', `127.0.0.1:${dns}`] : [])], {
    // Only what a pod would have: no KUBECONFIG, a HOME without ~/.kube.
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-home-')), KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: port },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    port: dns,
    stderr: () => stderr,
    check: async (fn) => {
      try {
        await fn();
      } catch (err) {
        (err as Error).message += `\n--- cluster-dns log (exit ${child.exitCode ?? child.signalCode ?? 'none yet'}):\n${stderr.split('\n').slice(-30).join('\n')}`;
        throw err;
      }
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      children.delete(child);
    },
  };
}

const QUIET = ['--no-forward', '--lameduck', '0', '--metrics-addr', 'off', '--health-addr', 'off', '--ready-addr', 'off'];

/** An HTTPS proxy in front of the API server (with the API server's own certificate) that records each request's
 *  bearer token and response status, and can drop every connection, as a restarted API server would. */
class RecordingProxy {
  readonly requests: Array<{ path: string; token: string; status: number }> = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: https.Server;
  port = 0;

  constructor(cp: ControlPlane) {
    const ca = fs.readFileSync(cp.pki.caCert);
    const target = new URL(cp.server);
    this.server = https.createServer({ cert: fs.readFileSync(cp.pki.apiserverCert), key: fs.readFileSync(cp.pki.apiserverKey) }, (req, res) => {
      const entry = { path: req.url ?? '', token: String(req.headers.authorization ?? '').replace(/^Bearer /, ''), status: 0 };
      this.requests.push(entry);
      const up = https.request(new URL(req.url ?? '/', target), { method: req.method, headers: { ...req.headers, host: target.host }, ca, agent: false }, (ur) => {
        entry.status = ur.statusCode ?? 0;
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
      req.pipe(up);
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function httpStatus(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** GET on loopback: status and body (for /ready's reasons). */
async function httpGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** GET /api as `token`, straight to the API server: 200 while the token is valid, 401 once it is not. */
async function apiStatusWith(cp: ControlPlane, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(new URL('/api', cp.server), { ca: fs.readFileSync(cp.pki.caCert), headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

async function mintToken(cp: ControlPlane, extra: string[] = []): Promise<string> {
  const r = await cp.kubectl(['create', 'token', 'cluster-dns', '-n', 'kube-system', '--duration', '1h', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function applyObjects(cp: ControlPlane, objects: K8sObject[]): Promise<void> {
  const r = await cp.kubectl(['apply', '-f', '-'], { input: objects.map((o) => yaml.dump(o)).join('---\n') });
  assert.equal(r.code, 0, r.stderr);
}

const RBAC_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'];

describe('deployment (manifests, RBAC, in-cluster config, probes)', function () {
  this.timeout(60_000);
  let cp: ControlPlane;
  let built: K8sObject[];
  let ns: string;
  let kube: Kube;
  let sa: ServiceAccountDir;

  before(async function () {
    this.timeout(180_000); // may be the first suite to start the control plane
    cp = await getControlPlane();
    built = await kustomize('manifests/dns');
    // The identity the Deployment runs as, from the manifests and nothing else.
    await applyObjects(cp, built.filter((o) => RBAC_KINDS.includes(o.kind)));
    sa = new ServiceAccountDir(await mintToken(cp), cp.pki.caCert);
    ns = await createTestNamespace(cp, 'deploy');
    kube = new Kube(kubeConfigFor(cp));
  });

  afterEach(() => {
    for (const c of children) c.kill('SIGKILL');
    children.clear();
  });

  it('every kustomization builds on its own from the files a clone has (committed or not ignored)', async () => {
    const dirs = kustomizations();
    assert.ok(dirs.includes('manifests/dns') && dirs.includes('manifests/kube-dns-service') && dirs.includes('manifests/dns-verified-pods'), dirs.join(' '));
    const { stdout } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', 'manifests']);
    const clone = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-clone-'));
    for (const f of stdout.split('\n').filter((l) => l !== '' && fs.existsSync(l))) {
      fs.mkdirSync(path.join(clone, path.dirname(f)), { recursive: true });
      fs.copyFileSync(f, path.join(clone, f));
    }
    for (const dir of dirs) {
      const objects = await kustomize(path.join(clone, dir));
      assert.ok(objects.length > 0, `${dir} builds to something`);
    }
  });

  it('kubectl apply --dry-run=server -k succeeds for every kustomization against the real API server', async function () {
    this.timeout(120_000);
    for (const dir of kustomizations()) {
      // A dry run creates nothing, so objects in a namespace the same kustomization creates would fail: those
      // namespaces are created for real first.
      const namespaces = (await kustomize(dir)).filter((o) => o.kind === 'Namespace');
      if (namespaces.length > 0) await applyObjects(cp, namespaces);
      const r = await cp.kubectl(['apply', '--dry-run=server', '-k', dir]);
      assert.equal(r.code, 0, `${dir}: ${r.stderr}`);
      assert.match(r.stdout, /\(server dry run\)/, dir);
    }
  });

  it('the Deployment: 2 replicas selected by kube-dns, dnsPolicy Default, probes, resources, locked-down securityContext, CoreDNS scheduling', () => {
    const d = only<Deployment>(built, 'Deployment');
    const pod = d.spec.template.spec;
    const c = pod.containers[0]!;
    assert.equal(d.metadata.namespace, 'kube-system');
    assert.equal(d.spec.replicas, 2);
    const labels = d.spec.template.metadata.labels;
    assert.equal(labels['k8s-app'], 'kube-dns', 'the label the kube-dns Service selects');
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) assert.equal(labels[k], v, `selector ${k}`);
    assert.ok(Object.keys(d.spec.selector.matchLabels).length > 1, "the selector must not be k8s-app alone, or it would claim CoreDNS's pods");
    const version = (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string }).version;
    assert.equal(c.image, `cluster-dns:${version}`, "the image the Dockerfile's build command tags");
    assert.equal(pod.dnsPolicy, 'Default');
    assert.equal(pod.priorityClassName, 'system-cluster-critical');
    assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
    assert.ok(pod.tolerations.some((t) => t.key === 'CriticalAddonsOnly' && t.operator === 'Exists'));
    assert.ok(pod.tolerations.some((t) => t.key === 'node-role.kubernetes.io/control-plane' && t.effect === 'NoSchedule'));
    assert.ok(pod.affinity?.podAntiAffinity, 'anti-affinity');
    assert.equal(pod.topologySpreadConstraints?.[0]?.whenUnsatisfiable, 'ScheduleAnyway', 'a one-node kind cluster still runs both replicas');
    assert.equal(pod.serviceAccountName, only(built, 'ServiceAccount').metadata.name);
    // Non-root that can still bind 53: the sysctl, since capabilities.add gives a non-root process nothing.
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.deepEqual(pod.securityContext.sysctls, [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '53' }]);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'], add: ['NET_BIND_SERVICE'] });
    assert.ok(c.resources.requests['cpu'] && c.resources.requests['memory'] && c.resources.limits['memory']);
    assert.equal(c.readinessProbe.httpGet.path, '/ready');
    assert.equal(c.livenessProbe.httpGet.path, '/health');
    const ports = c.ports.map((p) => `${p.name} ${p.containerPort}/${p.protocol}`);
    for (const p of ['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP']) assert.ok(ports.includes(p), p);
    // The config volume is the generated ConfigMap (its name carries a content hash).
    const cm = only(built, 'ConfigMap');
    const mount = c.volumeMounts.find((m) => pod.volumes.find((v) => v.name === m.name)?.configMap?.name === cm.metadata.name);
    assert.ok(mount, 'the ConfigMap is mounted');
    assert.ok(c.args.includes(`${mount.mountPath}/config.yaml`), 'the container reads the mounted config file');
    // The PodDisruptionBudget covers exactly these pods.
    const pdb = only<K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(built, 'PodDisruptionBudget');
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(labels[k], v);
  });

  it('the ClusterRole: list and watch only; services, namespaces, endpointslices (and pods only in the verified-pods overlay)', async () => {
    const rules = (only(built, 'ClusterRole') as K8sObject & { rules: Rule[] }).rules;
    const granted = rules.flatMap((r) => r.resources.map((res) => `${res}.${r.apiGroups[0]} ${[...r.verbs].sort().join(',')}`)).sort();
    assert.deepEqual(granted, ['endpointslices.discovery.k8s.io list,watch', 'namespaces. list,watch', 'services. list,watch']);
    const verified = await kustomize('manifests/dns-verified-pods');
    const vrules = (only(verified, 'ClusterRole') as K8sObject & { rules: Rule[] }).rules;
    assert.deepEqual(vrules.at(-1), { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] });
    assert.ok(only<Deployment>(verified, 'Deployment').spec.template.spec.containers[0]!.args.includes('--pods=verified'));
    const autopath = await kustomize('manifests/dns-autopath');
    assert.deepEqual((only(autopath, 'ClusterRole') as K8sObject & { rules: Rule[] }).rules.at(-1), { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] });
    assert.ok(only<Deployment>(autopath, 'Deployment').spec.template.spec.containers[0]!.args.includes('--autopath'));
  });

  it('the kube-dns Service: 10.96.0.10, ports dns 53/UDP, dns-tcp 53/TCP, metrics 9153/TCP, selecting the pods', async () => {
    const svc = only<K8sObject & { spec: { clusterIP: string; selector: Record<string, string>; ports: Array<{ name: string; port: number; protocol: string }> } }>(
      await kustomize('manifests/kube-dns-service'),
      'Service',
    );
    assert.equal(svc.metadata.name, 'kube-dns');
    assert.equal(svc.metadata.namespace, 'kube-system');
    assert.equal(svc.spec.clusterIP, '10.96.0.10');
    assert.deepEqual(svc.spec.ports.map((p) => `${p.name} ${p.port}/${p.protocol}`), ['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP']);
    const labels = only<Deployment>(built, 'Deployment').spec.template.metadata.labels;
    for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(labels[k], v, `the Service selects the pods by ${k}`);
  });

  it("the shipped config is kind's Corefile as import-corefile carries it over, with TTL 5", () => {
    const shipped = yaml.load((only(built, 'ConfigMap') as K8sObject & { data: Record<string, string> }).data['config.yaml']!) as Record<string, unknown>;
    const imported = importCorefile(KIND_COREFILE).config;
    assert.deepEqual({ ...shipped, ttl: 30, dnsAddr: undefined, logLevel: undefined }, { ...imported, dnsAddr: undefined, logLevel: undefined });
  });

  it('kubectl auth can-i: the ServiceAccount can list and watch what it needs and nothing else', async function () {
    this.timeout(120_000);
    const can = async (verb: string, resource: string): Promise<boolean> => {
      const r = await cp.kubectl(['auth', 'can-i', verb, resource, '--as', SA, '--all-namespaces']);
      assert.ok(r.stdout.trim() === 'yes' || r.stdout.trim() === 'no', `${verb} ${resource}: ${r.stdout}${r.stderr}`);
      return r.stdout.trim() === 'yes';
    };
    for (const res of ['services', 'namespaces', 'endpointslices.discovery.k8s.io']) {
      assert.equal(await can('list', res), true, `list ${res}`);
      assert.equal(await can('watch', res), true, `watch ${res}`);
      for (const verb of ['get', 'create', 'update', 'patch', 'delete']) assert.equal(await can(verb, res), false, `${verb} ${res}`);
    }
    for (const [verb, res] of [
      ['get', 'secrets'], ['list', 'secrets'], ['watch', 'secrets'], ['list', 'pods'], ['watch', 'pods'], ['get', 'configmaps'],
      ['list', 'endpoints'], ['create', 'pods'], ['create', 'serviceaccounts/token'], ['list', 'nodes'], ['*', '*'],
    ] as const) {
      assert.equal(await can(verb, res), false, `${verb} ${res}`);
    }
    // The whole list: beyond the three rules, only what every authenticated user gets (self-reviews, discovery).
    const list = await cp.kubectl(['auth', 'can-i', '--list', '--as', SA]);
    assert.equal(list.code, 0, list.stderr);
    const everyone = new Set(['selfsubjectreviews.authentication.k8s.io', 'selfsubjectaccessreviews.authorization.k8s.io', 'selfsubjectrulesreviews.authorization.k8s.io']);
    const rows = list.stdout.split('\n').slice(1).filter((l) => l.trim() !== '' && !l.trim().startsWith('['));
    const extra = rows.filter((l) => {
      const [resource] = l.trim().split(/\s+/);
      if (everyone.has(resource!)) return !/\[create\]$/.test(l.trim());
      return !(['services', 'namespaces', 'endpointslices.discovery.k8s.io'].includes(resource!) && /\[list watch\]$/.test(l.trim()));
    });
    assert.deepEqual(extra, [], `unexpected permissions:\n${list.stdout}`);
  });

  it('serve with only that identity, in-cluster style (token file, CA file, KUBERNETES_SERVICE_HOST/PORT): syncs and answers', async function () {
    this.timeout(60_000);
    await kube.createService(ns, 'web', { ports: [{ name: 'http', port: 80 }], clusterIP: '10.96.77.7' });
    const server = await serveInCluster(sa.dir, '127.0.0.1', apiPort(cp), ['serve', ...QUIET]);
    try {
      await server.check(async () => {
        await eventually(20_000, 'the service answers', async () => (await digValues(server.port, `web.${ns}.svc.cluster.local`)).join() === '10.96.77.7');
        assert.deepEqual(await digValues(server.port, 'kubernetes.default.svc.cluster.local'), ['10.96.0.1']);
        assert.equal((await dig(server.port, `nope.${ns}.svc.cluster.local`, 'A')).status, 'NXDOMAIN', 'synced: a missing name is NXDOMAIN, not SERVFAIL');
        assert.doesNotMatch(server.stderr(), /forbidden|HTTP 40[13]/i);
        // Changes arrive through the watches.
        await kube.createService(ns, 'late', { ports: [{ port: 81 }], clusterIP: '10.96.77.8' });
        await eventually(5_000, 'a new service', async () => (await digValues(server.port, `late.${ns}.svc.cluster.local`)).join() === '10.96.77.8');
        const rss = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))?.[1];
        console.log(`      in-cluster server RSS after sync: ${Math.round(Number(rss) / 1024)} MiB (the Deployment requests 224Mi, limit 320Mi)`);
      });
    } finally {
      await server.stop();
    }
  });

  it('pods verified: forbidden with the base role (the error names it), served once the verified-pods overlay grants pods', async function () {
    this.timeout(90_000);
    await kube.createReadyPod(ns, 'p1', '10.244.7.7');
    const server = await serveInCluster(sa.dir, '127.0.0.1', apiPort(cp), ['serve', ...QUIET, '--pods', 'verified', '--sync-timeout', '1']);
    try {
      await server.check(async () => {
        await eventually(10_000, 'a 403 for pods in the log', async () => /\/api\/v1\/pods.*HTTP 403|HTTP 403.*pods/.test(server.stderr()));
        // Listening after --sync-timeout, unsynced: SERVFAIL, never a false NXDOMAIN.
        await eventually(10_000, 'SERVFAIL while the pods watch is forbidden', async () => (await dig(server.port, `10-244-7-7.${ns}.pod.cluster.local`, 'A')).status === 'SERVFAIL');
        await applyObjects(cp, (await kustomize('manifests/dns-verified-pods')).filter((o) => o.kind === 'ClusterRole'));
        // The pods watch retries with backoff (at most 30 s) and then syncs.
        await eventually(45_000, 'the pod record', async () => (await digValues(server.port, `10-244-7-7.${ns}.pod.cluster.local`)).join() === '10.244.7.7');
      });
    } finally {
      await server.stop();
      await applyObjects(cp, built.filter((o) => o.kind === 'ClusterRole')); // back to the base role
    }
    assert.equal((await cp.kubectl(['auth', 'can-i', 'list', 'pods', '--as', SA, '--all-namespaces'])).stdout.trim(), 'no');
  });

  it('autopath: with the base role it is off (plain answers, /ready says the Pod watch is down); the overlay role turns it on', async function () {
    this.timeout(90_000);
    const ready = await freePort();
    const server = await serveInCluster(sa.dir, '127.0.0.1', apiPort(cp), ['serve', ...QUIET, '--autopath', '--ready-addr', `127.0.0.1:${ready}`]);
    try {
      await server.check(async () => {
        // The Pod watch only autopath needs never holds DNS back: synced, ready, answering.
        await eventually(20_000, '/ready 200 with the reason', async () => {
          const r = await httpGet(ready, '/ready');
          return r.status === 200 && /autopath off: the Pod watch is down/.test(r.body);
        });
        assert.deepEqual(await digValues(server.port, 'kubernetes.default.svc.cluster.local'), ['10.96.0.1']);
        await applyObjects(cp, (await kustomize('manifests/dns-autopath')).filter((o) => o.kind === 'ClusterRole'));
        // The pods watch retries with backoff (at most 30 s), then the warning goes.
        await eventually(45_000, '/ready without the warning', async () => !/autopath/.test((await httpGet(ready, '/ready')).body));
      });
    } finally {
      await server.stop();
      await applyObjects(cp, built.filter((o) => o.kind === 'ClusterRole')); // back to the base role
    }
  });

  it('follows token rotation: after the file is swapped and the old token revoked, the next requests use the new one', async function () {
    this.timeout(90_000);
    // Tokens bound to Secrets: deleting the Secret revokes its token at once (no 10-minute minimum lifetime to wait out).
    const secrets = [`rotate-a-${ns}`, `rotate-b-${ns}`];
    for (const name of secrets) assert.equal((await cp.kubectl(['-n', 'kube-system', 'create', 'secret', 'generic', name])).code, 0);
    const [tokenA, tokenB] = [await mintToken(cp, ['--bound-object-kind', 'Secret', '--bound-object-name', secrets[0]!]), await mintToken(cp, ['--bound-object-kind', 'Secret', '--bound-object-name', secrets[1]!])];
    const dir = new ServiceAccountDir(tokenA, cp.pki.caCert);
    const proxy = new RecordingProxy(cp);
    await proxy.listen();
    await kube.createService(ns, 'before', { ports: [{ port: 80 }], clusterIP: '10.96.78.1' });
    const server = await serveInCluster(dir.dir, '127.0.0.1', String(proxy.port), ['serve', ...QUIET]);
    try {
      await server.check(async () => {
        await eventually(20_000, 'synced through the proxy', async () => (await digValues(server.port, `before.${ns}.svc.cluster.local`)).join() === '10.96.78.1');
        // One watch per kind, its initial events the full set (--api-initial-list stream, the default).
        assert.ok(proxy.requests.length >= 3, `watches seen: ${proxy.requests.length}`);
        assert.ok(proxy.requests.every((r) => r.token === tokenA));

        // The kubelet's rotation: a new token in the folder. Then the old one stops working.
        dir.write(tokenB);
        const rotatedAt = proxy.requests.length;
        assert.equal((await cp.kubectl(['-n', 'kube-system', 'delete', 'secret', secrets[0]!])).code, 0);
        await eventually(20_000, 'the old token is rejected', async () => (await apiStatusWith(cp, tokenA)) === 401);
        // Every watch connection drops (an API server restart, a load balancer); the server reconnects.
        proxy.dropConnections();
        await kube.createService(ns, 'after', { ports: [{ port: 80 }], clusterIP: '10.96.78.2' });
        await eventually(20_000, 'a change made after the rotation', async () => (await digValues(server.port, `after.${ns}.svc.cluster.local`)).join() === '10.96.78.2');
        const watched = ['/api/v1/services', '/api/v1/namespaces', '/apis/discovery.k8s.io/v1/endpointslices'];
        await eventually(10_000, 'every watch reconnected', async () => watched.every((p) => proxy.requests.slice(rotatedAt).some((r) => r.path.startsWith(`${p}?`) && r.status !== 0)));
        const after = proxy.requests.slice(rotatedAt);
        assert.deepEqual(after.filter((r) => r.token !== tokenB).map((r) => r.path), [], 'every request after the rotation carries the new token');
        assert.deepEqual(after.filter((r) => r.status === 401), [], 'none was refused');
      });
    } finally {
      await server.stop();
      await proxy.close();
    }
  });

  it("runs the Deployment's container args and answers on the probe ports and paths it declares", async function () {
    this.timeout(60_000);
    const d = only<Deployment>(built, 'Deployment');
    const c = d.spec.template.spec.containers[0]!;
    const [command, ...flags] = c.args;
    assert.equal(command, 'serve', 'the image ENTRYPOINT is the cluster-dns CLI; args start with a command');
    // The config file the pod mounts, from the built ConfigMap.
    const configPath = flags[flags.indexOf('--config') + 1]!;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-pod-')), 'config.yaml');
    fs.writeFileSync(file, (only(built, 'ConfigMap') as K8sObject & { data: Record<string, string> }).data[path.basename(configPath)]!);
    const podFlags = flags.map((f) => (f === configPath ? file : f));

    // What the server would listen on in the pod, from the container's own args and config.
    const inPod = loadConfig('serve', podFlags, {}) as unknown as Record<string, ListenAddress | undefined>;
    const port = (name: string): number => c.ports.find((p) => p.name === name)!.containerPort;
    assert.equal(inPod['dnsAddr']?.port, port('dns'));
    assert.equal(inPod['metricsAddr']?.port, port('metrics'), 'metrics');
    assert.equal(inPod['healthAddr']?.port, c.livenessProbe.httpGet.port, 'the liveness probe port is where /health is served');
    assert.equal(inPod['readyAddr']?.port, c.readinessProbe.httpGet.port, 'the readiness probe port is where /ready is served');

    // Run it with the same args, moved to loopback and free ports (and no forwarding: tests never use this
    // machine's resolvers), with the pod's identity.
    const [dns, metrics, health, ready] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const server = await serveInCluster(
      sa.dir,
      '127.0.0.1',
      apiPort(cp),
      [command!, ...podFlags, '--dns-addr', `127.0.0.1:${dns}`, '--metrics-addr', `127.0.0.1:${metrics}`, '--health-addr', `127.0.0.1:${health}`, '--ready-addr', `127.0.0.1:${ready}`, '--no-forward'],
      dns,
    );
    try {
      await server.check(async () => {
        await eventually(20_000, `readiness GET ${c.readinessProbe.httpGet.path}`, async () => (await httpStatus(ready, c.readinessProbe.httpGet.path)) === 200);
        assert.equal(await httpStatus(health, c.livenessProbe.httpGet.path), 200, 'liveness');
        assert.equal(await httpStatus(metrics, '/metrics'), 200, 'metrics');
        assert.deepEqual(await digValues(dns, 'kubernetes.default.svc.cluster.local'), ['10.96.0.1']);
        // SIGTERM (a rolling update): unready at once so the endpoints drop it, alive and answering for the lameduck.
        server.child.kill('SIGTERM');
        await eventually(2_000, 'unready after SIGTERM', async () => (await httpStatus(ready, c.readinessProbe.httpGet.path)) !== 200);
        assert.equal(await httpStatus(health, c.livenessProbe.httpGet.path), 200, 'still alive during the lameduck');
        assert.deepEqual(await digValues(dns, 'kubernetes.default.svc.cluster.local'), ['10.96.0.1'], 'still answering during the lameduck');
      });
    } finally {
      await server.stop();
    }
  });
});
