// cluster-dns against a real kube-apiserver + etcd + EndpointSlice controller, queried with dig (UDP and TCP)
// and nslookup. Every API change must show in DNS within 1 s.
import assert from 'node:assert/strict';
import { createTestNamespace, getControlPlane, kubeConfigFor, type ControlPlane } from '../cluster/root-hooks.js';
import { dig, digValues, nslookup } from '../helpers/dig.js';
import { Kube } from '../helpers/kube.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const Z = 'cluster.local';
const PROPAGATION_MS = 1000;

describe('cluster zone against a real API server', function () {
  let cp: ControlPlane;
  let kube: Kube;
  let server: TestServer;
  let ns: string;

  before(async function () {
    this.timeout(180_000); // the first suite to ask starts the control plane
    cp = await getControlPlane();
    kube = new Kube(kubeConfigFor(cp));
    ns = await createTestNamespace(cp, 'zone');
    server = await startTestServer(['--kubeconfig', cp.kubeconfigPath]);
    await eventually(10_000, 'initial sync', async () => server.synced());
  });
  after(async () => server?.stop());

  it('answers kubernetes.default with the API server ClusterIP, over UDP and TCP, and via nslookup', async () => {
    const svc = await kube.core.readNamespacedService({ namespace: 'default', name: 'kubernetes' });
    const ip = svc.spec!.clusterIP!;
    assert.deepEqual(await digValues(server.port, `kubernetes.default.svc.${Z}`), [ip]);
    assert.deepEqual(await digValues(server.port, `kubernetes.default.svc.${Z}`, 'A', ['+tcp']), [ip]);
    const ns1 = await nslookup(server.port, `kubernetes.default.svc.${Z}`);
    assert.equal(ns1.code, 0, ns1.stdout);
    assert.match(ns1.stdout, new RegExp(`Name:\\s+kubernetes\\.default\\.svc\\.cluster\\.local\\s+Address: ${ip.replace(/\./g, '\\.')}`));
  });

  it('a new namespace and a new ClusterIP Service answer within 1 s; deleting them brings NXDOMAIN back within 1 s', async () => {
    const other = `${ns}-x`;
    assert.equal((await dig(server.port, `${other}.svc.${Z}`, 'A')).status, 'NXDOMAIN');
    await kube.core.createNamespace({ body: { metadata: { name: other } } });
    const nsMs = await eventually(PROPAGATION_MS, 'namespace visible', async () => (await dig(server.port, `${other}.svc.${Z}`, 'A')).status === 'NOERROR');

    const created = await kube.createService(ns, 'web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
    const ip = created.spec!.clusterIP!;
    const svcMs = await eventually(PROPAGATION_MS, 'service visible', async () => (await digValues(server.port, `web.${ns}.svc.${Z}`)).join() === ip);
    const srv = await dig(server.port, `_http._tcp.web.${ns}.svc.${Z}`, 'SRV');
    assert.deepEqual(srv.answer, [`_http._tcp.web.${ns}.svc.${Z}. 5 IN SRV 0 100 80 web.${ns}.svc.${Z}.`]);
    assert.deepEqual(srv.additional, [`web.${ns}.svc.${Z}. 5 IN A ${ip}`]);
    const ptr = await dig(server.port, ip, 'PTR', ['-x']);
    assert.deepEqual(ptr.answer.map((l) => l.split(' ').pop()), [`web.${ns}.svc.${Z}.`]);

    await kube.core.deleteNamespacedService({ namespace: ns, name: 'web' });
    const delMs = await eventually(PROPAGATION_MS, 'service gone', async () => (await dig(server.port, `web.${ns}.svc.${Z}`, 'A')).status === 'NXDOMAIN');
    console.log(`      propagation: namespace ${nsMs} ms, service create ${svcMs} ms, delete ${delMs} ms`);
  });

  it('headless service: ready pod IPs from controller-written EndpointSlices, hostnames, SRV, readiness changes', async () => {
    await kube.createService(ns, 'db', { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] });
    await kube.createReadyPod(ns, 'db-0', '10.244.7.10', { labels: { app: 'db' }, hostname: 'db-0', subdomain: 'db' });
    await kube.createReadyPod(ns, 'db-1', '10.244.7.11', { labels: { app: 'db' } });
    await eventually(15_000, 'two ready endpoints', async () => (await digValues(server.port, `db.${ns}.svc.${Z}`)).join() === '10.244.7.10,10.244.7.11');
    assert.deepEqual(await digValues(server.port, `db-0.db.${ns}.svc.${Z}`), ['10.244.7.10']);
    assert.deepEqual(await digValues(server.port, `10-244-7-11.db.${ns}.svc.${Z}`, 'A', ['+tcp']), ['10.244.7.11']);
    const srv = await dig(server.port, `_pg._tcp.db.${ns}.svc.${Z}`, 'SRV');
    assert.deepEqual(srv.answer.sort(), [
      `_pg._tcp.db.${ns}.svc.${Z}. 5 IN SRV 0 50 5432 10-244-7-11.db.${ns}.svc.${Z}.`,
      `_pg._tcp.db.${ns}.svc.${Z}. 5 IN SRV 0 50 5432 db-0.db.${ns}.svc.${Z}.`,
    ]);
    const ptr = await dig(server.port, '10.244.7.10', 'PTR', ['-x']);
    assert.deepEqual(ptr.answer.map((l) => l.split(' ').pop()), [`db-0.db.${ns}.svc.${Z}.`]);

    // Not ready → gone from the answer (the controller rewrites the slice; allow its batching).
    await kube.setPodStatus(ns, 'db-1', '10.244.7.11', false);
    await eventually(15_000, 'not-ready endpoint removed', async () => (await digValues(server.port, `db.${ns}.svc.${Z}`)).join() === '10.244.7.10');
    assert.equal((await dig(server.port, `10-244-7-11.db.${ns}.svc.${Z}`, 'A')).status, 'NXDOMAIN');
    await kube.setPodStatus(ns, 'db-0', '10.244.7.10', false);
    await eventually(15_000, 'no ready endpoints → NXDOMAIN', async () => (await dig(server.port, `db.${ns}.svc.${Z}`, 'A')).status === 'NXDOMAIN');
  });

  it('ExternalName: CNAME, and a changed target shows within 1 s; switching to ClusterIP gives its address', async () => {
    await kube.createService(ns, 'ext', { type: 'ExternalName', externalName: 'foo.example.com' });
    await eventually(PROPAGATION_MS, 'cname', async () => (await digValues(server.port, `ext.${ns}.svc.${Z}`, 'CNAME')).join() === 'foo.example.com.');
    const svc = await kube.core.readNamespacedService({ namespace: ns, name: 'ext' });
    svc.spec!.externalName = 'bar.example.com';
    await kube.core.replaceNamespacedService({ namespace: ns, name: 'ext', body: svc });
    await eventually(PROPAGATION_MS, 'new cname', async () => (await digValues(server.port, `ext.${ns}.svc.${Z}`, 'CNAME')).join() === 'bar.example.com.');
    const again = await kube.core.readNamespacedService({ namespace: ns, name: 'ext' });
    again.spec = { type: 'ClusterIP', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] };
    const replaced = await kube.core.replaceNamespacedService({ namespace: ns, name: 'ext', body: again });
    const ip = replaced.spec!.clusterIP!;
    await eventually(PROPAGATION_MS, 'clusterip', async () => (await digValues(server.port, `ext.${ns}.svc.${Z}`)).join() === ip);
  });

  it('case is preserved in the reply and negative answers carry the SOA', async () => {
    const r = await dig(server.port, `KUBERNETES.Default.svc.Cluster.Local`, 'A');
    assert.match(r.answer[0]!, /^KUBERNETES\.Default\.svc\.Cluster\.Local\. 5 IN A /);
    const nx = await dig(server.port, `nope.${ns}.svc.${Z}`, 'A');
    assert.equal(nx.status, 'NXDOMAIN');
    assert.match(nx.authority[0]!, /^cluster\.local\. 5 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5$/);
    assert.ok(nx.flags.includes('aa'));
  });
});
