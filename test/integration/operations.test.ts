// Operations: /metrics read with a real Prometheus text parser during query load, /health and /ready through
// start-up, sync, API outage and shutdown, SIGTERM under load, live config reload, loadbalance, query logs,
// the /records debug view, and docs/operations.md's metrics table against what the server exports.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type MetricFamily, parsePrometheus, sample } from '../helpers/prometheus.js';
import { createTestNamespace, getControlPlane, kubeConfigFor, type ControlPlane } from '../cluster/root-hooks.js';
import { freePort } from '../cluster/ports.js';
import { dig } from '../helpers/dig.js';
import { query } from '../helpers/dns-client.js';
import { aReply, sleep, startFakeUpstream } from '../helpers/fake-upstream.js';
import { Kube } from '../helpers/kube.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { loadConfig } from '../../src/config/config.js';
import { silentLogger } from '../../src/base/log.js';
import { startServer } from '../../src/server/server.js';

const CLI = path.resolve('dist/src/cli.js');

function get(addr: string, pathname: string): Promise<{ status: number; body: string }> {
  const url = new URL(`http://${addr}${pathname}`);
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function scrape(s: TestServer): Promise<MetricFamily[]> {
  const r = await get(s.ops!.addresses.metrics!, '/metrics');
  assert.equal(r.status, 200);
  return parsePrometheus(r.body);
}

describe('operations: metrics, health, readiness, reload, shutdown', function () {
  this.timeout(60_000);
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()!();
  });
  async function server(args: string[]): Promise<TestServer> {
    const s = await startTestServer(args);
    cleanup.push(() => s.stop());
    return s;
  }

  it('exports CoreDNS metric names with correct deltas under query load', async () => {
    const s = await server(['--manifests', 'examples']);
    const before = await scrape(s);
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < 300; i++) sends.push(query(s.port, 'web.demo.svc.cluster.local', 1));
    for (let i = 0; i < 100; i++) sends.push(query(s.port, 'nope.demo.svc.cluster.local', 1, { tcp: i % 2 === 0 }));
    for (let i = 0; i < 50; i++) sends.push(query(s.port, 'db.demo.svc.cluster.local', 28, { edns: 1232, dnssecOk: true }));
    await Promise.all(sends);
    const after = await scrape(s);
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    const zone = { zone: 'cluster.local.' };
    assert.equal(delta('coredns_dns_requests_total', { ...zone, type: 'A', proto: 'udp', family: '1' }), 350);
    assert.equal(delta('coredns_dns_requests_total', { ...zone, type: 'A', proto: 'tcp' }), 50);
    assert.equal(delta('coredns_dns_requests_total', { ...zone, type: 'AAAA' }), 50);
    assert.equal(delta('coredns_dns_responses_total', { ...zone, rcode: 'NXDOMAIN', plugin: 'kubernetes' }), 100);
    assert.equal(delta('coredns_dns_responses_total', { ...zone, rcode: 'NOERROR' }), 350);
    assert.equal(delta('coredns_dns_do_requests_total', zone), 50);
    assert.equal(delta('coredns_dns_request_duration_seconds', zone), 450, 'histogram count');
    assert.equal(delta('coredns_dns_response_size_bytes', { ...zone, proto: 'tcp' }), 50);
    assert.equal(sample(after, 'coredns_build_info'), 1);
    assert.ok(sample(after, 'process_resident_memory_bytes') > 10e6);
    assert.equal(sample(after, 'cluster_dns_objects', { kind: 'services' }), 10);
    assert.equal(sample(after, 'cluster_dns_synced'), 1);
    assert.equal(sample(after, 'coredns_plugin_enabled', { name: 'kubernetes', zone: 'cluster.local.' }), 1);
  });

  it('counts cache hits and misses and forward durations', async () => {
    const f = await startFakeUpstream((q) => [aReply(q, '198.51.100.1', 60)]);
    cleanup.push(() => f.stop());
    // startTestServer turns forwarding off; this one forwards to the fake upstream.
    const config = loadConfig('serve', ['--dns-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--health-addr', 'off', '--ready-addr', 'off', '--manifests', 'examples', '--upstream', f.address], {});
    const started = await startServer(config, silentLogger);
    const s = Object.assign(started, { port: started.udp[0]!.address.port });
    cleanup.push(() => s.stop());
    for (let i = 0; i < 5; i++) await query(s.port, 'x.example', 1);
    const m = await scrape(s);
    assert.equal(sample(m, 'coredns_cache_hits_total', { type: 'success' }), 4);
    assert.equal(sample(m, 'coredns_cache_misses_total'), 1);
    assert.equal(sample(m, 'coredns_dns_responses_total', { zone: '.', plugin: 'cache' }), 4);
    assert.equal(sample(m, 'coredns_proxy_request_duration_seconds', { to: f.address, rcode: 'NOERROR', proxy_name: 'forward' }) >= 1, true);
    assert.equal(sample(m, 'coredns_cache_entries', { type: 'success' }), 1);
  });

  it('documents in docs/operations.md exactly the metrics the server exports', async () => {
    // --autopath for its outcome counter, which exists only with it on (it changes no other series).
    const s = await server(['--manifests', 'examples', '--autopath']);
    await query(s.port, 'web.demo.svc.cluster.local', 1, { edns: 1232, dnssecOk: true });
    const exported = new Set((await scrape(s)).map((f) => f.name).filter((n) => n.startsWith('coredns_') || n.startsWith('cluster_dns_')));
    const doc = fs.readFileSync('docs/operations.md', 'utf8');
    const start = doc.indexOf('\n## Metrics\n');
    assert.ok(start >= 0, 'docs/operations.md has a Metrics section');
    const section = doc.substring(start, doc.indexOf('\n## ', start + 1));
    const documented = new Set([...section.matchAll(/`((?:coredns|cluster_dns)_[a-z_]+)`/g)].map((m) => m[1]!));
    // Series that only exist with forwarding on, or with the API source.
    const forwardOnly = ['coredns_cache_entries', 'coredns_cache_hits_total', 'coredns_cache_misses_total', 'coredns_cache_requests_total', 'coredns_cache_served_stale_total', 'coredns_proxy_request_duration_seconds', 'coredns_proxy_healthcheck_failures_total', 'coredns_forward_healthcheck_broken_total', 'coredns_forward_max_concurrent_rejects_total', 'cluster_dns_upstream_mismatched_replies_total', 'cluster_dns_forward_coalesced_total', 'coredns_kubernetes_dns_programming_duration_seconds', 'cluster_dns_watch_restarts_total', 'cluster_dns_watch_relists_total', 'cluster_dns_seconds_since_last_event', 'cluster_dns_dropped_packets_total'];
    for (const name of exported) assert.ok(documented.has(name), `${name} is exported but not in the docs/operations.md metrics table`);
    for (const name of documented) assert.ok(exported.has(name) || forwardOnly.includes(name), `${name} is in docs/operations.md but not exported`);
  });

  it('a listener on port 0 gets a free port; off turns it off', async () => {
    const s = await server(['--manifests', 'examples', '--ready-addr', 'off']);
    assert.match(s.ops!.addresses.metrics!, /^127\.0\.0\.1:\d+$/);
    assert.equal(s.ops!.addresses.ready, undefined);
    assert.equal((await get(s.ops!.addresses.health!, '/health')).status, 200);
  });

  it('loadbalance shuffles A records per query; off keeps the order', async () => {
    const on = await server(['--manifests', 'examples']);
    const orders = new Set<string>();
    for (let i = 0; i < 40; i++) orders.add((await query(on.port, 'db.demo.svc.cluster.local', 1)).answers.map((a) => a.address).join());
    assert.equal(orders.size, 2);
    const off = await server(['--manifests', 'examples', '--loadbalance', 'off']);
    const fixed = new Set<string>();
    for (let i = 0; i < 20; i++) fixed.add((await query(off.port, 'db.demo.svc.cluster.local', 1)).answers.map((a) => a.address).join());
    assert.equal(fixed.size, 1);
  });

  it('the /records debug view explains a name, only when enabled', async () => {
    const off = await server(['--manifests', 'examples']);
    assert.equal((await get(off.ops!.addresses.metrics!, '/records?name=web.demo.svc.cluster.local')).status, 404);
    const on = await server(['--manifests', 'examples', '--debug-records']);
    const r = await get(on.ops!.addresses.metrics!, '/records?name=_http._tcp.web.demo.svc.cluster.local');
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body) as { service: string; slices: string[]; node: { srv: unknown[] } };
    assert.equal(body.service, 'demo/web');
    assert.deepEqual(body.slices, ['demo/web-abcde']);
    assert.equal(body.node.srv.length, 1);
    const ptr = JSON.parse((await get(on.ops!.addresses.metrics!, '/records?name=20.1.244.10.in-addr.arpa')).body) as { endpointOf: Record<string, string[]> };
    assert.deepEqual(ptr.endpointOf, { 'demo/db': ['db-0.db.demo.svc'] });
  });
});

/** Runs `cluster-dns serve` as a real process; resolves once it logs that DNS is listening. */
async function spawnServer(args: string[]): Promise<{ child: ChildProcess; port: number; ready: string; health: string; logs: () => string; exited: Promise<number | null> }> {
  const port = await freePort();
  const [ready, health, metrics] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [CLI, 'serve', '--dns-addr', `127.0.0.1:${port}`, '--ready-addr', `127.0.0.1:${ready}`, '--health-addr', `127.0.0.1:${health}`, '--metrics-addr', `127.0.0.1:${metrics}`, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let logs = '';
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await eventually(15_000, 'server listening', async () => {
    if (child.exitCode !== null) throw new Error(`exited: ${logs}`);
    return logs.includes('"msg":"serving"');
  });
  return { child, port, ready: `127.0.0.1:${ready}`, health: `127.0.0.1:${health}`, logs: () => logs, exited };
}

describe('operations: the process', function () {
  this.timeout(60_000);

  it('SIGTERM: unready at once, answers through the lameduck period, drains, exits 0', async () => {
    const s = await spawnServer(['--manifests', 'examples', '--no-forward', '--lameduck', '1']);
    assert.equal((await get(s.ready, '/ready')).status, 200);
    let answered = 0;
    let sent = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        sent++;
        const r = await query(s.port, 'web.demo.svc.cluster.local', 1, { timeoutMs: 500 }).catch(() => undefined);
        if (r) answered++;
      }
    })();
    await sleep(300);
    s.child.kill('SIGTERM');
    await sleep(200);
    const during = await get(s.ready, '/ready');
    assert.equal(during.status, 503);
    assert.match(during.body, /shutting down/);
    assert.equal((await get(s.health, '/health')).status, 200, 'alive during lameduck');
    const beforeClose = answered;
    await sleep(500);
    assert.ok(answered > beforeClose, 'still answering during lameduck');
    const code = await s.exited;
    running = false;
    await load;
    assert.equal(code, 0);
    // Only queries sent after the sockets closed may go unanswered: at most the one in flight at that moment.
    assert.ok(sent - answered <= 1, `${sent} sent, ${answered} answered`);
  });

  it('SIGTERM with queries waiting on a slow upstream: they are answered before the sockets close', async () => {
    const f = await startFakeUpstream(async (q) => {
      await sleep(400);
      return [aReply(q, '198.51.100.4')];
    });
    try {
      const s = await spawnServer(['--manifests', 'examples', '--upstream', f.address, '--lameduck', '0']);
      const pending = Array.from({ length: 20 }, (_, i) => query(s.port, `slow${i}.example`, 1, { timeoutMs: 3000 }));
      await sleep(100);
      s.child.kill('SIGTERM');
      const replies = await Promise.all(pending);
      assert.ok(replies.every((r) => r.answers[0]?.address === '198.51.100.4'));
      assert.equal(await s.exited, 0);
    } finally {
      await f.stop();
    }
  });

  it('applies a changed --config file live, and keeps the old one when the new one is invalid', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-reload-'));
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, 'manifests: examples\nnoForward: true\nttl: 5\n');
    const s = await spawnServer(['--config', file]);
    try {
      assert.match((await dig(s.port, 'web.demo.svc.cluster.local', 'A')).answer[0]!, / 5 IN A /);
      let unanswered = 0;
      let running = true;
      const load = (async () => {
        while (running) if (!(await query(s.port, 'web.demo.svc.cluster.local', 1, { timeoutMs: 1000 }).catch(() => undefined))) unanswered++;
      })();
      fs.writeFileSync(file, 'manifests: examples\nnoForward: true\nttl: 30\n');
      await eventually(5000, 'new TTL served', async () => / 30 IN A /.test((await dig(s.port, 'web.demo.svc.cluster.local', 'A')).answer[0] ?? ''));
      fs.writeFileSync(file, 'manifests: examples\nnoForward: true\nttl: -4\n');
      await eventually(5000, 'rejection logged', async () => /configuration reload failed.*ttl/.test(s.logs()));
      await sleep(300);
      assert.match((await dig(s.port, 'web.demo.svc.cluster.local', 'A')).answer[0]!, / 30 IN A /, 'the previous config keeps serving');
      running = false;
      await load;
      assert.equal(unanswered, 0, 'no query dropped during the reload');
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  it('--log-queries writes one JSON line per query with client, name, type, rcode and duration', async () => {
    const s = await spawnServer(['--manifests', 'examples', '--no-forward', '--log-queries']);
    try {
      await dig(s.port, 'web.demo.svc.cluster.local', 'A');
      await eventually(2000, 'query line', async () => s.logs().includes('"msg":"query"'));
      const line = JSON.parse(s.logs().split('\n').find((l) => l.includes('"msg":"query"'))!) as Record<string, unknown>;
      assert.equal(line['name'], 'web.demo.svc.cluster.local');
      assert.equal(line['type'], 'A');
      assert.equal(line['rcode'], 'NOERROR');
      assert.equal(line['client'], '127.0.0.1');
      assert.equal(typeof line['durationMs'], 'number');
    } finally {
      s.child.kill('SIGKILL');
    }
  });
});

describe('operations: readiness through start-up, sync and an API outage', function () {
  this.timeout(120_000);
  let cp: ControlPlane;
  before(async () => {
    cp = await getControlPlane();
  });

  it('503 before the first sync, 200 after; an API outage keeps it ready and keeps the last records served', async () => {
    // A TCP proxy in front of the API server that the test can cut and restore.
    const api = new URL(cp.server);
    let cut = false;
    const conns = new Set<net.Socket>();
    const proxy = net.createServer((c) => {
      if (cut) return c.destroy();
      const up = net.connect(Number(api.port), '127.0.0.1');
      conns.add(c).add(up);
      c.pipe(up).pipe(c);
      const done = () => {
        c.destroy();
        up.destroy();
      };
      c.on('error', done).on('close', done);
      up.on('error', done).on('close', done);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyPort = (proxy.address() as net.AddressInfo).port;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-outage-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, fs.readFileSync(cp.kubeconfigPath, 'utf8').replace(cp.server, `https://127.0.0.1:${proxyPort}`));
    cut = true;
    const s = await startTestServer(['--kubeconfig', kubeconfig, '--sync-timeout', '0']);
    try {
      const notReady = await get(s.ops!.addresses.ready!, '/ready');
      assert.equal(notReady.status, 503);
      assert.match(notReady.body, /not synced/);
      assert.equal((await get(s.ops!.addresses.health!, '/health')).status, 200);
      assert.equal((await dig(s.port, 'nothing.default.svc.cluster.local', 'A')).status, 'SERVFAIL');
      cut = false;
      await eventually(40_000, 'ready after the API comes back', async () => (await get(s.ops!.addresses.ready!, '/ready')).status === 200);
      const ns = await createTestNamespace(cp, 'outage');
      const kube = new Kube(kubeConfigFor(cp));
      const svc = await kube.createService(ns, 'kept', { ports: [{ port: 80, protocol: 'TCP', name: 'http' }] });
      await eventually(5000, 'service visible', async () => (await dig(s.port, `kept.${ns}.svc.cluster.local`, 'A')).answer.length === 1);
      cut = true;
      for (const c of conns) c.destroy();
      await sleep(1500);
      assert.equal((await get(s.ops!.addresses.ready!, '/ready')).status, 200, 'an outage after sync does not make the server unready');
      const r = await dig(s.port, `kept.${ns}.svc.cluster.local`, 'A');
      assert.deepEqual(r.answer, [`kept.${ns}.svc.cluster.local. 5 IN A ${svc.spec!.clusterIP}`], 'last known records still served');
      const m = parsePrometheus((await get(s.ops!.addresses.metrics!, '/metrics')).body);
      assert.ok(sample(m, 'cluster_dns_watch_restarts_total') >= 1, 'the outage shows as watch restarts');
    } finally {
      await s.stop();
      proxy.close();
      for (const c of conns) c.destroy();
    }
  });
});
