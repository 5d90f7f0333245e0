// --autopath on the real node: cluster-dns swapped in (`scripts/kind-swap.sh in --no-build`), then the
// manifests/dns-autopath overlay applied over it (the ClusterRole gains pods, the Deployment --autopath). Pods
// resolve through the kubelet's real resolv.conf (search path, ndots:5). From a dnsutils pod in the test namespace
// `dig +search www.example.test` must get the CNAME from the first expansion to the outside name and its address
// in one query; from a hostNetwork pod no CNAME (its address is the node's); glibc's `getent ahosts` must cost at
// most 2 queries where it costs 8 without autopath; `nslookup kubernetes.default` must find what it found without.
// Queries are counted by the servers themselves (coredns_dns_requests_total, summed over the replicas).
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { UPSTREAM_RECORDS } from '../cluster/node/upstream.js';
import { KUBEADM_COREFILE } from '../cluster/node/coredns-addon.js';
import { UPSTREAM_ZONE } from '../cluster/node/layout.js';
import { getNodeCluster, type NodeCluster } from '../cluster/root-hooks.js';
import { dnsutilsPod, kindSwap, Kubectl } from '../helpers/node-pods.js';

const NS = 'autopath-test';
const OUTSIDE = `www.${UPSTREAM_ZONE}`;
const OUTSIDE_A = UPSTREAM_RECORDS['www.example.test'].A;

async function swap(cluster: NodeCluster, args: string[]): Promise<void> {
  const run = await kindSwap(cluster, args);
  if (run.code !== 0) throw new Error(`kind-swap.sh ${args.join(' ')} failed:\n${run.output.slice(-3000)}`);
}

/** The lines of nslookup's answer that name what was found (the server lines and the search CNAME aside). */
const found = (nslookup: string): string[] => nslookup.split('\n').filter((l) => /^(Name|Address):/.test(l.trim()) && !l.includes('#53'));

describe('cluster-dns --autopath on a real node', function () {
  this.timeout(120_000);
  let cluster: NodeCluster;
  let k: Kubectl;
  let plain: { nslookup: string; getentQueries: number };
  let swappedOut = false;

  /** Queries answered so far by every cluster-dns replica, from each one's own /metrics. */
  async function served(): Promise<number> {
    const pods = (await k.run(['-n', 'kube-system', 'get', 'pods', '-l', 'app.kubernetes.io/name=cluster-dns', '--field-selector=status.phase=Running', '-o', 'name'])).trim().split('\n');
    let total = 0;
    for (const pod of pods) {
      const text = await k.exec('kube-system', pod.replace(/^pod\//, ''), ['node', '-e', "fetch('http://127.0.0.1:9153/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))"]);
      for (const line of text.split('\n')) if (line.startsWith('coredns_dns_requests_total{')) total += Number(line.split(' ').pop());
    }
    return total;
  }

  /** Queries the servers counted while `command` ran in the pod (the scrapes themselves are HTTP, not DNS). */
  async function queriesFor(pod: string, command: string[]): Promise<{ output: string; queries: number }> {
    const before = await served();
    const output = await k.exec(NS, pod, command);
    return { output, queries: (await served()) - before };
  }

  before(async function () {
    this.timeout(900_000); // may start the node; the swap and the overlay's rollout
    cluster = await getNodeCluster();
    k = new Kubectl(cluster);
    await k.run(['create', 'namespace', NS]);
    await k.waitForDefaultServiceAccount(NS);
    await k.apply([
      dnsutilsPod(NS, 'dnsutils'),
      // hostNetwork with ClusterFirstWithHostNet: the cluster's resolver and search path, but the node's address.
      dnsutilsPod(NS, 'hostnet', { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }),
    ]);
    await k.waitReady(NS, 'app in (dnsutils,hostnet)');
    await swap(cluster, ['in', '--no-build']);
    // Without autopath first: what the same lookups cost and find.
    const getent = await queriesFor('dnsutils', ['getent', 'ahosts', OUTSIDE]);
    plain = { nslookup: await k.exec(NS, 'dnsutils', ['nslookup', 'kubernetes.default']), getentQueries: getent.queries };
    const old = (await k.run(['-n', 'kube-system', 'get', 'pods', '-l', 'app.kubernetes.io/name=cluster-dns', '-o', 'name'])).trim().split('\n');
    await k.run(['apply', '-k', resolve('manifests/dns-autopath')]);
    await k.run(['-n', 'kube-system', 'rollout', 'status', 'deployment/cluster-dns', '--timeout=240s'], undefined, 250_000);
    // Old replicas answer through their lameduck period; count only once they are gone.
    await k.run(['-n', 'kube-system', 'wait', '--for=delete', ...old, '--timeout=60s'], undefined, 70_000);
    // The client pods were created before the new replicas listed them: old enough to be trusted at once.
  });

  after(async function () {
    this.timeout(420_000);
    if (!swappedOut) await swap(cluster, ['out']).catch((e: Error) => process.stderr.write(`${e.message}\n`));
    await k?.run(['delete', 'namespace', NS, '--wait=false']).catch(() => undefined);
  });

  it('the overlay runs with --autopath and may watch pods', async () => {
    const args = (await k.run(['-n', 'kube-system', 'get', 'deployment', 'cluster-dns', '-o', 'jsonpath={.spec.template.spec.containers[0].args}'])).trim();
    assert.match(args, /--autopath/);
    const can = await cluster.kubectl(['auth', 'can-i', 'watch', 'pods', '--all-namespaces', '--as=system:serviceaccount:kube-system:cluster-dns']);
    assert.equal(can.stdout.trim(), 'yes');
  });

  it(`dig +search ${OUTSIDE} from a pod: the CNAME from the first expansion and the address, in one query`, async () => {
    const { output, queries } = await queriesFor('dnsutils', ['dig', '+search', '+showsearch', '+nocookie', '+noall', '+comments', '+answer', OUTSIDE, 'A']);
    const first = `${OUTSIDE}.${NS}.svc.cluster.local.`;
    assert.equal(output.match(/->>HEADER<<-/g)?.length, 1, `one query, the first search name, answered:\n${output}`);
    assert.match(output, new RegExp(`^${first.replace(/\./g, '\\.')}\\s+\\d+\\s+IN\\s+CNAME\\s+${OUTSIDE.replace(/\./g, '\\.')}\\.$`, 'm'));
    assert.match(output, new RegExp(`^${OUTSIDE.replace(/\./g, '\\.')}\\.\\s+\\d+\\s+IN\\s+A\\s+${OUTSIDE_A.replace(/\./g, '\\.')}$`, 'm'));
    assert.equal(queries, 1, 'the server counted one query');
  });

  it('from a hostNetwork pod: no CNAME (the address is the node), the client walks its search path itself', async () => {
    const output = await k.exec(NS, 'hostnet', ['dig', '+search', '+nocookie', '+noall', '+answer', OUTSIDE, 'A']);
    assert.doesNotMatch(output, /CNAME/);
    assert.match(output, new RegExp(`^${OUTSIDE.replace(/\./g, '\\.')}\\.\\s+\\d+\\s+IN\\s+A\\s+${OUTSIDE_A.replace(/\./g, '\\.')}$`, 'm'));
  });

  it(`getent ahosts ${OUTSIDE}: the address, at most 2 queries (A and AAAA) where there were 8`, async () => {
    assert.equal(plain.getentQueries, 8, 'without autopath: four names of the search path, A and AAAA each');
    const { output, queries } = await queriesFor('dnsutils', ['getent', 'ahosts', OUTSIDE]);
    assert.match(output, new RegExp(`^${OUTSIDE_A.replace(/\./g, '\\.')}\\s`, 'm'));
    assert.ok(queries <= 2, `${queries} queries`);
  });

  it('nslookup kubernetes.default finds what it found without autopath', async () => {
    const now = await k.exec(NS, 'dnsutils', ['nslookup', 'kubernetes.default']);
    assert.deepEqual(found(now), found(plain.nslookup));
    assert.match(found(now).join('\n'), /Name:\s+kubernetes\.default\.svc\.cluster\.local\nAddress: 10\.96\.0\.1/);
    // The one visible difference: the search finished on the server shows as the CNAME it answers with.
    assert.match(now, new RegExp(`kubernetes\\.default\\.${NS}\\.svc\\.cluster\\.local\\s+canonical name = kubernetes\\.default\\.svc\\.cluster\\.local`));
  });

  it("answers as CoreDNS's autopath @kubernetes (pods verified) does, on the same pod and queries", async function () {
    this.timeout(420_000);
    const queries = [OUTSIDE, 'kubernetes.default', 'kube-dns.kube-system', 'web'].map((name) =>
      ['dig', '+search', '+nocookie', '+noall', '+answer', name, 'A']);
    // TTLs aside: both count down from different moments.
    const answers = async (): Promise<string[]> => Promise.all(queries.map(async (q) =>
      (await k.exec(NS, 'dnsutils', q)).trim().split('\n').map((l) => l.replace(/\s+\d+\s+IN\s+/, ' IN ').replace(/\s+/g, ' ')).sort().join('\n')));
    await k.apply([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS }, spec: { ports: [{ port: 80 }] } }]);
    await new Promise((r) => setTimeout(r, 2000)); // both servers see a new Service within a second
    const ours = await answers();
    await swap(cluster, ['out']);
    swappedOut = true;
    const corefile = KUBEADM_COREFILE.replace('pods insecure', 'pods verified').replace('    ready\n', '    ready\n    autopath @kubernetes\n');
    assert.notEqual(corefile, KUBEADM_COREFILE);
    const setCorefile = async (text: string): Promise<void> => {
      await k.apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' }, data: { Corefile: text } }]);
      const old = (await k.run(['-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns', '-o', 'name'])).trim().split('\n');
      await k.run(['-n', 'kube-system', 'rollout', 'restart', 'deployment/coredns']);
      await k.run(['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=180s'], undefined, 190_000);
      // The old replicas answer (with the old Corefile) through their lameduck period: ask only once they are gone.
      await k.run(['-n', 'kube-system', 'wait', '--for=delete', ...old, '--timeout=60s'], undefined, 70_000);
    };
    try {
      await setCorefile(corefile);
      const theirs = await answers();
      assert.deepEqual(ours, theirs);
      assert.match(theirs[0]!, /CNAME/, 'CoreDNS completed the search too');
    } finally {
      await setCorefile(KUBEADM_COREFILE);
    }
  });
});
