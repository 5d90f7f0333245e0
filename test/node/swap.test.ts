// cluster-dns swapped in for CoreDNS on the real node, the way a kind user does it: `scripts/kind-swap.sh in
// --no-build` (the image built from the repository's Dockerfile is already on the node), a rollout restart, and
// `scripts/kind-swap.sh out`. A client pod resolves kubernetes.default through the kube-dns Service IP in a loop
// the whole time: every lookup must succeed. Pods resolve through the kubelet's real resolv.conf (search path,
// ndots:5), and the answers after the swap must be the ones CoreDNS gave before it.
import assert from 'node:assert/strict';
import { CLUSTER_DNS_IP, UPSTREAM_ZONE } from '../cluster/node/layout.js';
import { getNodeCluster, type NodeCluster } from '../cluster/root-hooks.js';
import { dnsutilsPod, kindSwap, Kubectl, LookupLoop, type LookupCounts, type SwapRun } from '../helpers/node-pods.js';

const NS = 'swap-test';

const describeLoop = (c: LookupCounts): string =>
  `${c.ok} good, ${c.failed} failed, ${c.slow} slow${c.failures.length > 0 ? `; first failures: ${c.failures.slice(0, 5).join(' | ')}` : ''}`;

/**
 * What a failed lookup during a swap needs to be understood: the failures (each after its epoch second), the
 * script's lines with the second each arrived, and kube-system's events (pods stopping, slices changing).
 */
async function swapFailure(k: Kubectl, run: SwapRun, during: LookupCounts): Promise<string> {
  const events = await k.run(['-n', 'kube-system', 'get', 'events', '--sort-by=.lastTimestamp', '-o',
    'custom-columns=LAST:.lastTimestamp,REASON:.reason,OBJECT:.involvedObject.name,MESSAGE:.message']).catch((e: Error) => e.message);
  return `lookups failed during the swap: ${describeLoop(during)}\nkind-swap.sh, each line after its arrival (epoch s):\n${run.timed.slice(-4000)}\nkube-system events:\n${events.slice(-3000)}`;
}

describe('cluster-dns swapped in for CoreDNS on a real node', function () {
  this.timeout(120_000);
  let cluster: NodeCluster;
  let k: Kubectl;
  let loop: LookupLoop;
  let baseline: Map<string, string>;
  const queries: Array<[string, string[]]> = [];
  /** What the swap tests report for the README: lookups made and failed in each phase. */
  const phases: Array<[string, LookupCounts]> = [];

  /** Runs every query from the dnsutils pod through its own resolv.conf; answers keyed by query. */
  async function answers(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [label, command] of queries) {
      const text = await k.exec(NS, 'dnsutils', command).catch((error: Error) => `FAILED: ${error.message}`);
      out.set(label, text.trim());
    }
    return out;
  }

  before(async function () {
    this.timeout(600_000); // may start the node
    cluster = await getNodeCluster();
    k = new Kubectl(cluster);
    await k.run(['create', 'namespace', NS]);
    await k.run(['create', 'namespace', `${NS}-other`]);
    // The namespace's default ServiceAccount (ServiceAccount admission is on) must exist before pods are created.
    for (const ns of [NS, `${NS}-other`]) await k.waitForDefaultServiceAccount(ns);
    await k.apply([
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: `${NS}-other` },
        spec: { selector: { app: 'nothing' }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: NS },
        spec: { type: 'ExternalName', externalName: `www.${UPSTREAM_ZONE}` } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: NS },
        spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] } },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: NS },
        spec: {
          serviceName: 'db', replicas: 1, selector: { matchLabels: { app: 'db' } },
          template: { metadata: { labels: { app: 'db' } }, spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10.1', imagePullPolicy: 'IfNotPresent' }] } },
        } },
      dnsutilsPod(NS, 'dnsutils'),
      dnsutilsPod(NS, 'looper'),
    ]);
    await k.waitReady(NS, 'app in (dnsutils,looper,db)');
    const nslookup = (name: string): [string, string[]] => [`nslookup ${name}`, ['nslookup', name]];
    queries.push(
      nslookup('kubernetes.default'),
      nslookup('kube-dns.kube-system'),
      nslookup(`web.${NS}-other`),
      nslookup(`db-0.db.${NS}`),
      nslookup('ext'),
      nslookup(`www.${UPSTREAM_ZONE}`),
      [`dig SRV _http._tcp.web.${NS}-other`, ['dig', '+short', '+search', 'SRV', `_http._tcp.web.${NS}-other`]],
      [`dig SRV _pg._tcp.db.${NS}`, ['dig', '+short', '+search', 'SRV', `_pg._tcp.db.${NS}`]],
      ['getent hosts kubernetes.default', ['getent', 'hosts', 'kubernetes.default']],
    );
    // The baseline is CoreDNS serving: an earlier suite's faults may have left its pods out of the Service for a while.
    await k.waitKubeDnsServing();
    loop = await LookupLoop.start(k, NS, 'looper', { server: CLUSTER_DNS_IP, name: 'kubernetes.default.svc.cluster.local', expect: '10.96.0.1' });
  });

  after(async function () {
    this.timeout(60_000);
    if (loop !== undefined) await loop.stop().catch(() => undefined);
    if (phases.length > 0) {
      process.stderr.write(`      lookups during the swap: ${phases.map(([phase, c]) => `${phase}: ${c.ok + c.failed} made, ${c.failed} failed, ${c.slow} slow`).join('; ')}\n`);
    }
  });

  it("resolves through the kubelet's resolv.conf with CoreDNS first (the baseline)", async () => {
    const resolvConf = await k.exec(NS, 'dnsutils', ['cat', '/etc/resolv.conf']);
    assert.deepEqual(resolvConf.trim().split('\n').filter((l) => !l.startsWith('#')), [
      `search ${NS}.svc.cluster.local svc.cluster.local cluster.local`,
      `nameserver ${CLUSTER_DNS_IP}`,
      'options ndots:5',
    ]);
    baseline = await answers();
    const failed = [...baseline].filter(([, text]) => text.startsWith('FAILED') || text === '');
    assert.deepEqual(failed, [], 'CoreDNS must answer every query of the baseline');
    assert.match(baseline.get('nslookup kubernetes.default')!, /Name:\s+kubernetes\.default\.svc\.cluster\.local\nAddress: 10\.96\.0\.1/);
    assert.match(baseline.get('nslookup ext')!, /canonical name = www\.example\.test/);
    assert.match(baseline.get(`nslookup www.${UPSTREAM_ZONE}`)!, /Address: 198\.51\.100\.80/);
    assert.match(baseline.get(`dig SRV _http._tcp.web.${NS}-other`)!, new RegExp(`^0 100 80 web\\.${NS}-other\\.svc\\.cluster\\.local\\.$`));
  });

  it('swaps in with `kind-swap.sh in --no-build` without a failed lookup', async function () {
    this.timeout(420_000);
    const before = await loop.counts();
    const run = await kindSwap(cluster, ['in', '--no-build']);
    const during = await loop.since(before);
    phases.push(['swap in', during]);
    assert.equal(run.code, 0, `kind-swap.sh in failed:\n${run.output.slice(-3000)}`);
    assert.match(run.output, /is already on every node/);
    assert.ok(during.ok > 20, `too few lookups during the swap to prove anything: ${describeLoop(during)}`);
    if (during.failed > 0) assert.fail(await swapFailure(k, run, during));
  });

  it('leaves only cluster-dns behind kube-dns, answering what CoreDNS answered', async () => {
    const pods = await k.json<{ items: Array<{ metadata: { name: string; labels?: Record<string, string> } }> }>(['-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns']);
    assert.ok(pods.items.length >= 1);
    for (const pod of pods.items) assert.equal(pod.metadata.labels?.['app.kubernetes.io/name'], 'cluster-dns', `${pod.metadata.name} still serves kube-dns`);
    const after = await answers();
    assert.deepEqual(Object.fromEntries(after), Object.fromEntries(baseline));
  });

  it('runs the server pod as in production: non-root, read-only root, port 53 by sysctl, projected token, list/watch RBAC', async () => {
    const pods = await k.json<{ items: Array<{ metadata: { name: string }; spec: { volumes?: Array<{ name: string; projected?: { sources?: Array<{ serviceAccountToken?: unknown }> } }> } }> }>(
      ['-n', 'kube-system', 'get', 'pods', '-l', 'app.kubernetes.io/name=cluster-dns']);
    const pod = pods.items[0]!;
    const probe = (code: string): Promise<string> => k.exec('kube-system', pod.metadata.name, ['node', '-e', code]);
    assert.equal((await probe('console.log(process.getuid(), process.getgid())')).trim(), '65532 65532');
    assert.match(await probe("try { require('fs').writeFileSync('/probe', 'x'); console.log('wrote') } catch (e) { console.log(e.code) }"), /EROFS/);
    assert.equal((await probe("console.log(require('fs').readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim())")).trim(), '53');
    assert.ok(pod.spec.volumes?.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken !== undefined)), 'no projected service-account token volume');
    const can = async (verb: string, resource: string): Promise<string> => {
      const res = await cluster.kubectl(['auth', 'can-i', verb, resource, '--all-namespaces', '--as=system:serviceaccount:kube-system:cluster-dns']);
      return res.stdout.trim();
    };
    assert.equal(await can('watch', 'endpointslices.discovery.k8s.io'), 'yes');
    assert.equal(await can('list', 'services'), 'yes');
    assert.equal(await can('get', 'secrets'), 'no');
    assert.equal(await can('create', 'services'), 'no');
  });

  it('survives `kubectl rollout restart deployment/cluster-dns` without a failed lookup', async function () {
    this.timeout(300_000);
    const old = (await k.run(['-n', 'kube-system', 'get', 'pods', '-l', 'app.kubernetes.io/name=cluster-dns', '-o', 'name'])).trim().split('\n');
    const before = await loop.counts();
    await k.run(['-n', 'kube-system', 'rollout', 'restart', 'deployment/cluster-dns']);
    await k.run(['-n', 'kube-system', 'rollout', 'status', 'deployment/cluster-dns', '--timeout=240s'], undefined, 250_000);
    // Old pods keep answering for their lameduck period after they leave the endpoints: count until they are gone.
    await k.run(['-n', 'kube-system', 'wait', '--for=delete', ...old, '--timeout=60s'], undefined, 70_000);
    const during = await loop.since(before);
    phases.push(['rollout restart', during]);
    assert.ok(during.ok > 20, `too few lookups during the restart: ${describeLoop(during)}`);
    assert.equal(during.failed, 0, `lookups failed during the restart: ${describeLoop(during)}`);
  });

  it('swaps back with `kind-swap.sh out` without a failed lookup', async function () {
    this.timeout(420_000);
    const before = await loop.counts();
    const run = await kindSwap(cluster, ['out']);
    const during = await loop.since(before);
    phases.push(['swap out', during]);
    assert.equal(run.code, 0, `kind-swap.sh out failed:\n${run.output.slice(-3000)}`);
    if (during.failed > 0) assert.fail(await swapFailure(k, run, during));
    const pods = await k.json<{ items: Array<{ metadata: { labels?: Record<string, string> } }> }>(['-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns']);
    assert.ok(pods.items.length > 0 && pods.items.every((p) => p.metadata.labels?.['app.kubernetes.io/name'] === undefined), 'CoreDNS alone serves kube-dns again');
    assert.deepEqual(Object.fromEntries(await answers()), Object.fromEntries(baseline));
  });
});
