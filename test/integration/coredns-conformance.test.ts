// Conformance: the same queries against CoreDNS (the reference, built from its Go module) and cluster-dns, both
// watching the same real API server, in all three pod modes, over UDP and TCP, before and after changes. Every
// difference fails the test unless it is listed in DELIBERATE (and in docs/dns-behaviour.md, Differences from CoreDNS) with its reason.
import assert from 'node:assert/strict';
import { createTestNamespace, getControlPlane, kubeConfigFor, type ControlPlane } from '../cluster/root-hooks.js';
import { startCoreDns, type CoreDns } from '../helpers/coredns.js';
import { type DigResult, digBatch } from '../helpers/dig.js';
import { Kube } from '../helpers/kube.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const Z = 'cluster.local';
const TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'TXT', 'SOA', 'NS', 'MX', 'TYPE65534'];
const MODES = ['disabled', 'insecure', 'verified'] as const;

/** Differences we keep on purpose: [query pattern, reason]. Empty means we match CoreDNS on every query here. */
const DELIBERATE: Array<[RegExp, string]> = [];

function queryNames(ns: string, ips: Record<string, string>): string[] {
  const s = (n: string): string => `${n}.${ns}.svc.${Z}`;
  const rev4 = (ip: string): string => `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  return [
    Z, `svc.${Z}`, `pod.${Z}`, `${ns}.svc.${Z}`, `missing.svc.${Z}`, `foo.${Z}`, `dns-version.${Z}`, `ns.dns.${Z}`,
    ...['web', 'api', 'db', 'peers', 'drained', 'portless', 'empty', 'ext', 'alias', 'manual', 'nodeport', 'nope'].map(s),
    s('db-0.db'), s('db-2.db'), s('10-244-10-1.web'), s('10-244-10-3.web'), s('10-244-10-12.peers'), s('db-2.peers'),
    s('m6.manual'), s('dup.manual'), s('fd00-10-244--a.manual'), s('zz.web'),
    s('_http._tcp.web'), s('http.tcp.web'), s('_http._udp.web'), s('_grpc._tcp.api'), s('_dns._udp.api'), s('_pg._tcp.db'),
    s('_pg._tcp.peers'), s('_x._tcp.web'), s('_http._tcp.ext'), s('x.ext'), s('a.b.c.web'), s('_pg._tcp.manual'),
    `kubernetes.default.svc.${Z}`, `kubernetes.default.${ns}.svc.${Z}`, `kubernetes.default.svc.${ns}.svc.${Z}`,
    `kubernetes.default.svc.svc.${Z}`, `kubernetes.default.svc.${Z}.${Z}`, `web.${ns}.${ns}.svc.${Z}`, `web.svc.${Z}`,
    `10-244-10-1.${ns}.pod.${Z}`, `10-244-10-99.${ns}.pod.${Z}`, `10-244-10-1.default.pod.${Z}`, `x.${ns}.pod.${Z}`,
    `fd00--1.${ns}.pod.${Z}`, `${ns}.pod.${Z}`, `10-244-10-1.missing.pod.${Z}`,
    ...Object.values(ips).map(rev4), rev4('10.244.10.1'), rev4('10.244.10.3'), rev4('10.244.10.10'), rev4('10.244.10.12'),
    rev4('10.244.99.99'), '10.244.in-addr.arpa', 'in-addr.arpa', 'ip6.arpa', 'x.in-addr.arpa', 'svc.in-addr.arpa',
    'a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa',
    `Web.${ns}.SVC.Cluster.Local`, `_HTTP._Tcp.web.${ns}.svc.${Z}`,
  ];
}

/** SOA serials differ by design (each server stamps its own last change); mask them. */
const normalise = (r: DigResult): DigResult => ({
  status: r.status,
  flags: r.flags,
  answer: r.answer.map(mask).sort(),
  authority: r.authority.map(mask).sort(),
  additional: r.additional.map(mask).sort(),
});
const mask = (l: string): string => l.replace(/( SOA \S+ \S+ )\d+/, '$1SERIAL');

function compare(label: string, queries: Array<[string, string]>, ref: Map<string, DigResult>, ours: Map<string, DigResult>): string[] {
  const diffs: string[] = [];
  for (const [name, type] of queries) {
    const key = `${name} ${type}`;
    if (DELIBERATE.some(([re]) => re.test(key))) continue;
    const a = ref.get(key);
    const b = ours.get(key);
    if (!a || !b) {
      diffs.push(`${label} ${key}: no reply from ${!a ? 'CoreDNS' : 'cluster-dns'}`);
      continue;
    }
    const na = normalise(a);
    const nb = normalise(b);
    try {
      assert.deepEqual(nb, na);
    } catch {
      diffs.push(`${label} ${key}:\n  CoreDNS:     ${JSON.stringify(na)}\n  cluster-dns: ${JSON.stringify(nb)}`);
    }
  }
  return diffs;
}

describe('conformance with CoreDNS (same API server, same queries)', function () {
  this.timeout(180_000);
  let cp: ControlPlane;
  let kube: Kube;
  let ns: string;
  const ips: Record<string, string> = {};
  const pairs: Array<{ mode: string; ref: CoreDns; ours: TestServer }> = [];

  before(async function () {
    cp = await getControlPlane();
    kube = new Kube(kubeConfigFor(cp));
    ns = await createTestNamespace(cp, 'conf');
    const port = (name: string, p: number, protocol = 'TCP', targetPort?: number) => ({ name, port: p, protocol, ...(targetPort ? { targetPort } : {}) });
    const svc = async (name: string, spec: Parameters<Kube['createService']>[2]) => {
      const s = await kube.createService(ns, name, spec);
      if (s.spec?.clusterIP && s.spec.clusterIP !== 'None') ips[name] = s.spec.clusterIP;
    };
    await svc('web', { selector: { app: 'web' }, ports: [port('http', 80, 'TCP', 8080)] });
    await svc('api', { selector: { app: 'api' }, ports: [port('http', 80), port('grpc', 9090), port('dns', 53, 'UDP')] });
    await svc('db', { clusterIP: 'None', selector: { app: 'db' }, ports: [port('pg', 5432)] });
    await svc('peers', { clusterIP: 'None', publishNotReadyAddresses: true, selector: { app: 'db' }, ports: [port('pg', 5432)] });
    await svc('drained', { clusterIP: 'None', selector: { app: 'none' }, ports: [port('http', 80)] });
    await svc('portless', { clusterIP: 'None', selector: { app: 'web' } });
    await svc('empty', { selector: { app: 'none' }, ports: [port('http', 80)] });
    await svc('nodeport', { type: 'NodePort', selector: { app: 'web' }, ports: [port('http', 80)] });
    await svc('ext', { type: 'ExternalName', externalName: 'foo.example.com' });
    await svc('alias', { type: 'ExternalName', externalName: `web.${ns}.svc.${Z}` });
    await svc('manual', { clusterIP: 'None', ports: [port('pg', 5432)] });
    const slice = (name: string, addressType: string, endpoints: unknown[]) =>
      kube.discovery.createNamespacedEndpointSlice({
        namespace: ns,
        body: { metadata: { name, labels: { 'kubernetes.io/service-name': 'manual' } }, addressType, endpoints: endpoints as never, ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
      });
    await slice('manual-v6', 'IPv6', [{ addresses: ['fd00:10:244::a'], hostname: 'm6' }]);
    await slice('manual-a', 'IPv4', [{ addresses: ['10.244.11.1'], hostname: 'dup' }, { addresses: ['10.244.11.2'], hostname: 'dup' }, { addresses: ['10.244.11.3'], conditions: { ready: true } }]);
    await slice('manual-b', 'IPv4', [{ addresses: ['10.244.11.3'] }]);
    await kube.createReadyPod(ns, 'web-a', '10.244.10.1', { labels: { app: 'web' } });
    await kube.createReadyPod(ns, 'web-b', '10.244.10.2', { labels: { app: 'web' } });
    await kube.createReadyPod(ns, 'web-c', '10.244.10.3', { labels: { app: 'web' }, ready: false });
    await kube.createReadyPod(ns, 'api-a', '10.244.10.5', { labels: { app: 'api' } });
    await kube.createReadyPod(ns, 'db-0', '10.244.10.10', { labels: { app: 'db' }, hostname: 'db-0', subdomain: 'db' });
    await kube.createReadyPod(ns, 'db-1', '10.244.10.11', { labels: { app: 'db' }, hostname: 'db-1', subdomain: 'db' });
    await kube.createReadyPod(ns, 'db-2', '10.244.10.12', { labels: { app: 'db' }, hostname: 'db-2', subdomain: 'db', ready: false });
    for (const mode of MODES) {
      const ref = await startCoreDns(cp.kubeconfigPath, { pods: mode });
      const ours = await startTestServer(['--kubeconfig', cp.kubeconfigPath, '--pods', mode]);
      pairs.push({ mode, ref, ours });
    }
    // Both must have seen the controller's slices before comparing.
    for (const { ref, ours } of pairs) {
      for (const port of [ref.port, ours.port]) {
        await eventually(30_000, 'endpoints visible', async () => {
          const r = await digBatch(port, [[`db.${ns}.svc.${Z}`, 'A'], [`peers.${ns}.svc.${Z}`, 'A'], [`web.${ns}.svc.${Z}`, 'SRV']]);
          return r.get(`db.${ns}.svc.${Z} A`)?.answer.length === 2 && r.get(`peers.${ns}.svc.${Z} A`)?.answer.length === 3;
        });
      }
    }
  });

  after(async () => {
    for (const { ref, ours } of pairs) {
      await ref.stop();
      await ours.stop();
    }
  });

  /**
   * Compares every query, then asks again only the ones that differed, for a few seconds while the two servers'
   * watches catch up. A query that matched once is done: asking everything again each pass only exposed the run
   * to one stray reply more (a CI run once failed on one reference reply without QR, never seen again in 4 reruns).
   */
  async function compareAll(label: string, names: string[]): Promise<{ count: number; diffs: string[] }> {
    const queries = names.flatMap((n) => TYPES.map((t): [string, string] => [n, t]));
    let open = pairs.flatMap((pair) => ['udp', 'tcp'].map((proto) => ({ pair, proto, queries })));
    let diffs: string[] = [];
    const deadline = Date.now() + 8000;
    do {
      diffs = [];
      const still: typeof open = [];
      for (const { pair, proto, queries: asked } of open) {
        const extra = proto === 'tcp' ? ['+tcp'] : [];
        const [a, b] = await Promise.all([digBatch(pair.ref.port, asked, extra), digBatch(pair.ours.port, asked, extra)]);
        const differing = asked.filter((q) => {
          const d = compare(`[${label} pods=${pair.mode} ${proto}]`, [q], a, b);
          diffs.push(...d);
          return d.length > 0;
        });
        if (differing.length) still.push({ pair, proto, queries: differing });
      }
      open = still;
      if (diffs.length === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    } while (Date.now() < deadline);
    return { count: queries.length * pairs.length * 2, diffs };
  }

  it('answers every query exactly as CoreDNS does (rcode, flags, all three sections)', async () => {
    const { count, diffs } = await compareAll('initial', queryNames(ns, ips));
    console.log(`      compared ${count} queries; ${diffs.length} differences`);
    assert.deepEqual(diffs, []);
  });

  it('still matches after creating, changing and deleting objects', async () => {
    await svc2('late', { selector: { app: 'web' }, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] });
    const web = await kube.core.readNamespacedService({ namespace: ns, name: 'web' });
    web.spec!.ports!.push({ name: 'metrics', port: 9100, protocol: 'TCP' });
    await kube.core.replaceNamespacedService({ namespace: ns, name: 'web', body: web });
    await kube.core.deleteNamespacedService({ namespace: ns, name: 'api' });
    await kube.setPodStatus(ns, 'db-2', '10.244.10.12', true);
    await kube.core.deleteNamespacedPod({ namespace: ns, name: 'web-b', gracePeriodSeconds: 0 });
    const ext = await kube.core.readNamespacedService({ namespace: ns, name: 'ext' });
    ext.spec!.externalName = 'bar.example.com';
    await kube.core.replaceNamespacedService({ namespace: ns, name: 'ext', body: ext });
    const s = (n: string): string => `${n}.${ns}.svc.${Z}`;
    for (const { ref, ours } of pairs) {
      for (const port of [ref.port, ours.port]) {
        await eventually(20_000, 'changes visible', async () => {
          const r = await digBatch(port, [[s('db'), 'A'], [s('late'), 'A'], [s('api'), 'A']]);
          return r.get(`${s('db')} A`)?.answer.length === 3 && r.get(`${s('late')} A`)?.status === 'NOERROR' && r.get(`${s('api')} A`)?.status === 'NXDOMAIN';
        });
      }
    }
    const names = [...queryNames(ns, ips), s('late'), s('_metrics._tcp.web'), s('_http._tcp.late'), s('10-244-10-2.web'), s('db-2.db')];
    const { count, diffs } = await compareAll('after changes', names);
    console.log(`      compared ${count} queries; ${diffs.length} differences`);
    assert.deepEqual(diffs, []);

    async function svc2(name: string, spec: Parameters<Kube['createService']>[2]): Promise<void> {
      const created = await kube.createService(ns, name, spec);
      ips[name] = created.spec!.clusterIP!;
    }
  });
});
