// --autopath against the real API server, with the real forwarder and NSD as its upstream. Who asked is told
// by the source address, as in a cluster: the test pods get loopback pod IPs (127.0.0.2x; the API server takes
// any valid IP in a status) and dig sends from them with `-b`, so the server sees the same thing it sees from a
// pod, through the same sockets and code. The helper's pods name 127.0.0.1 as their hostIP, so queries from
// 127.0.0.1 come from "the node". Nothing leaves 127.0.0.0/8; the machine's resolver is never asked.
import assert from 'node:assert/strict';
import http from 'node:http';
import { createTestNamespace, getControlPlane, kubeConfigFor, type ControlPlane } from '../cluster/root-hooks.js';
import { dig } from '../helpers/dig.js';
import { eventually } from '../helpers/eventually.js';
import { Kube } from '../helpers/kube.js';
import { EXAMPLE_ZONE, type Nsd, startNsd } from '../helpers/nsd.js';
import { parsePrometheus, sample } from '../helpers/prometheus.js';
import type { TestServer } from '../helpers/server.js';
import { loadConfig } from '../../src/config/config.js';
import { silentLogger } from '../../src/base/log.js';
import { startServer } from '../../src/server/server.js';

const POD_IP = '127.0.0.21';
const OTHER_NS_IP = '127.0.0.22';
const HOST_NET_IP = '127.0.0.23';
const REUSED_IP = '127.0.0.24';
const NOBODY_IP = '127.0.0.29';

function get(addr: string, pathname: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(new URL(`http://${addr}${pathname}`), (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('autopath against a real API server, forwarding to NSD', function () {
  this.timeout(60_000);
  let cp: ControlPlane;
  let kube: Kube;
  let nsd: Nsd;
  let ns: string;
  let other: string;
  let on: TestServer;
  let off: TestServer;

  async function serve(extra: string[]): Promise<TestServer> {
    const config = loadConfig('serve', ['--dns-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--health-addr', 'off', '--ready-addr', '127.0.0.1:0', '--kubeconfig', cp.kubeconfigPath, '--upstream', `127.0.0.1:${nsd.port}`, ...extra], {});
    const s = await startServer(config, silentLogger);
    return Object.assign(s, { port: s.udp[0]!.address.port });
  }
  const from = (s: TestServer, ip: string, name: string, type = 'A') => dig(s.port, name, type, ['-b', ip]);
  const counts = async (s: TestServer) => parsePrometheus((await get(s.ops!.addresses.metrics!, '/metrics')).body);
  const outcome = async (s: TestServer, o: string) => sample(await counts(s), 'cluster_dns_autopath_total', { outcome: o });

  before(async function () {
    this.timeout(180_000); // the first suite to ask starts the control plane
    cp = await getControlPlane();
    kube = new Kube(kubeConfigFor(cp));
    ns = await createTestNamespace(cp, 'autopath');
    other = await createTestNamespace(cp, 'autopath-other');
    nsd = await startNsd({ 'example.test': EXAMPLE_ZONE });
    await kube.createReadyPod(ns, 'client', POD_IP);
    await kube.createReadyPod(other, 'elsewhere', OTHER_NS_IP);
    await kube.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'hostnet' }, spec: { nodeName: 'node-1', hostNetwork: true, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } },
    });
    await kube.setPodStatus(ns, 'hostnet', HOST_NET_IP, true);
    await kube.createReadyPod(ns, 'first-owner', REUSED_IP);
    on = await serve(['--autopath']);
    off = await serve([]);
    await eventually(10_000, 'initial sync', async () => on.synced() && off.synced());
  });
  after(async () => {
    await on?.stop();
    await off?.stop();
    await nsd?.stop();
  });

  it('from a pod of the namespace: the CNAME to the outside name and its address, in one query', async () => {
    const name = `www.example.test.${ns}.svc.cluster.local`;
    // A pod is trusted once it is older than the watch lag plus a second of timestamp rounding.
    await eventually(5000, 'the search completed', async () => (await from(on, POD_IP, name)).status === 'NOERROR', 100);
    const noTtl = (lines: string[]) => lines.map((l) => l.replace(/ \d+ IN /, ' IN '));
    const ttls = (lines: string[]) => lines.map((l) => l.split(' ')[1]);
    const a = await from(on, POD_IP, name);
    assert.deepEqual(noTtl(a.answer), [`${name}. IN CNAME www.example.test.`, 'www.example.test. IN A 192.0.2.10']);
    assert.equal(new Set(ttls(a.answer)).size, 1, "the CNAME has the found record's TTL");
    const forwarded = on.forwarder!.stats.forwarded;
    const aaaa = await from(on, POD_IP, name, 'AAAA');
    assert.equal(on.forwarder!.stats.forwarded, forwarded + 1, 'one upstream round trip for the whole search');
    assert.deepEqual(aaaa.answer, [`${name}. 300 IN CNAME www.example.test.`, 'www.example.test. 300 IN AAAA 2001:db8::10']);
    assert.ok((await outcome(on, 'completed')) >= 2);
    assert.deepEqual(noTtl((await from(on, POD_IP, name)).answer), noTtl(a.answer), 'again, from the cache (TTLs counted down)');
    assert.equal(on.forwarder!.stats.forwarded, forwarded + 1, 'the repeat costs no upstream trip');
    // The same query without autopath, from the same pod: NXDOMAIN, as ever.
    assert.equal((await from(off, POD_IP, name)).status, 'NXDOMAIN');
  });

  it('a cluster name further on the path: kubernetes.default from the namespace', async () => {
    const svc = await kube.core.readNamespacedService({ namespace: 'default', name: 'kubernetes' });
    const name = `kubernetes.default.${ns}.svc.cluster.local`;
    await eventually(5000, 'the search completed', async () => (await from(on, POD_IP, name)).status === 'NOERROR', 100);
    assert.deepEqual((await from(on, POD_IP, name)).answer, [`${name}. 5 IN CNAME kubernetes.default.svc.cluster.local.`, `kubernetes.default.svc.cluster.local. 5 IN A ${svc.spec!.clusterIP}`]);
    // Names that exist are answered as they are, with or without autopath.
    const direct = 'kubernetes.default.svc.cluster.local';
    assert.deepEqual((await from(on, POD_IP, direct)).answer, (await from(off, POD_IP, direct)).answer);
  });

  it('nothing on the path exists: NXDOMAIN for the asked name, and the outside name is then in the cache', async () => {
    const name = `nope.example.test.${ns}.svc.cluster.local`;
    await eventually(5000, 'the walk ran', async () => {
      await from(on, POD_IP, name);
      return (await outcome(on, 'nxdomain')) >= 1;
    }, 100);
    const r = await from(on, POD_IP, name);
    assert.equal(r.status, 'NXDOMAIN');
    assert.match(r.authority[0]!, /^cluster\.local\. 5 IN SOA /);
    assert.deepEqual(r.answer, []);
    const before = on.forwarder!.cache.stats.hits.denial;
    assert.equal((await from(on, POD_IP, 'nope.example.test')).status, 'NXDOMAIN');
    assert.equal(on.forwarder!.cache.stats.hits.denial, before + 1, "the client's own last try is a cache hit: the walk went through the cache");
  });

  it('refuses, answering exactly as without autopath: the node, an unknown address, a hostNetwork pod, another namespace', async () => {
    const name = `www.example.test.${ns}.svc.cluster.local`;
    const plain = await from(off, POD_IP, name);
    // The other namespace's pod was made after this namespace's one, possibly in a later second: wait until it is
    // past the young-pod refusal (which comes first), so each address below meets only the refusal it stands for.
    await eventually(5000, 'the other namespace\'s pod is old enough to be judged by its namespace', async () => {
      const young = await outcome(on, 'pod_too_young');
      await from(on, OTHER_NS_IP, name);
      return (await outcome(on, 'pod_too_young')) === young;
    }, 100);
    for (const [ip, why] of [
      ['127.0.0.1', 'node'],
      [NOBODY_IP, 'unknown_client'],
      [HOST_NET_IP, 'host_network'],
      [OTHER_NS_IP, 'namespace_mismatch'],
    ] as const) {
      const before = await outcome(on, why);
      assert.deepEqual(await from(on, ip, name), plain, `from ${ip} (${why})`);
      assert.equal(await outcome(on, why), before + 1, why);
    }
  });

  it('an address reused by a pod of another namespace is refused while ambiguous', async () => {
    const name = `www.example.test.${other}.svc.cluster.local`;
    await kube.core.deleteNamespacedPod({ namespace: ns, name: 'first-owner', gracePeriodSeconds: 0 });
    await kube.createReadyPod(other, 'second-owner', REUSED_IP);
    const before = await outcome(on, 'ambiguous');
    await eventually(5000, 'the new owner seen, and refused', async () => {
      await from(on, REUSED_IP, name);
      return (await outcome(on, 'ambiguous')) > before;
    }, 100);
    assert.equal((await from(on, REUSED_IP, name)).status, 'NXDOMAIN');
  });

  it('/ready stays 200 without a warning while the Pod watch works; every outcome is a series of /metrics', async () => {
    const r = await get(on.ops!.addresses.ready!, '/ready');
    assert.equal(r.status, 200);
    assert.doesNotMatch(r.body, /autopath/);
    const before = await outcome(on, 'not_expansion');
    await from(on, POD_IP, 'nothing.svc.cluster.local');
    assert.equal(await outcome(on, 'not_expansion'), before + 1);
    const family = (await counts(on)).find((f) => f.name === 'cluster_dns_autopath_total')!;
    assert.ok(family.samples.length >= 16, 'a series per outcome, zero or not');
    assert.equal((await counts(off)).find((f) => f.name === 'cluster_dns_autopath_total')?.samples.length ?? 0, 0, 'none without autopath');
    const m = await counts(on);
    assert.ok(sample(m, 'cluster_dns_autopath_pods') >= 4, 'the test pods are in the projection');
    const lag = sample(m, 'cluster_dns_autopath_watch_lag_seconds');
    assert.ok(lag >= 0 && lag < 10, `watch lag ${lag} s`);
  });
});
