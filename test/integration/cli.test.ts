// The `cluster-dns` command as a user runs it: help, bad input that must stop start-up with one clear line,
// the zone file that NSD must accept, and a server started while the API server is unreachable.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../cluster/ports.js';
import { dig } from '../helpers/dig.js';
import { eventually } from '../helpers/eventually.js';

const run = promisify(execFile);
const CLI = path.resolve('dist/src/cli.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('cluster-dns command line', () => {
  it('--help lists the commands; serve --help lists every serve flag', async () => {
    const top = await cli(['--help']);
    assert.equal(top.code, 0);
    for (const c of ['serve', 'zone', 'help', 'version']) assert.match(top.stdout, new RegExp(`cluster-dns ${c}`));
    const serve = await cli(['serve', '--help']);
    for (const f of ['--kubeconfig', '--manifests', '--dns-addr', '--zone', '--ttl', '--pods', '--endpoint-pod-names', '--ignore-empty-service', '--no-forward']) {
      assert.ok(serve.stdout.includes(f), `${f} in serve --help`);
    }
  });

  const bad: Array<[string[], RegExp]> = [
    [['serve', '--ttl', '-1'], /^cluster-dns: --ttl: want an integer from 0 to 3600, got "-1"$/m],
    [['serve', '--dns-addr', 'localhost'], /^cluster-dns: --dns-addr "localhost": want HOST:PORT/m],
    [['serve', '--pods', 'maybe'], /^cluster-dns: --pods: want one of disabled, insecure, verified/m],
    [['serve', '--manifests', 'no/such/dir'], /^cluster-dns: --manifests no\/such\/dir: no such file or folder$/m],
    [['serve', '--bogus'], /unknown argument "--bogus"/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ];
  for (const [args, message] of bad) {
    it(`stops with exit code 2 and one clear line: ${args.join(' ')}`, async () => {
      const r = await cli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }

  it('stops on an invalid manifest, naming the file and document', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-cli-'));
    fs.writeFileSync(path.join(dir, 'svc.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 99999}]}\n');
    const r = await cli(['serve', '--manifests', dir, '--dns-addr', '127.0.0.1:0', '--metrics-addr', 'off', '--health-addr', 'off', '--ready-addr', 'off']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /svc\.yaml document 1: spec\.ports\[0\]\.port must be an integer 0-65535, got 99999/);
  });

  it('a port already taken ends start-up with one line naming the address', async () => {
    const blocker = dgram.createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(0, '127.0.0.1', r));
    const port = blocker.address().port;
    try {
      const r = await cli(['serve', '--manifests', 'examples', '--no-forward', '--dns-addr', `127.0.0.1:${port}`, '--metrics-addr', 'off', '--health-addr', 'off', '--ready-addr', 'off']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('cluster-dns:')).join(), `cluster-dns: cannot listen for DNS on 127.0.0.1:${port}: EADDRINUSE`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      blocker.close();
    }
  });

  it('zone prints a master file that NSD loads, SOA first, every record absolute with TTL and class', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-zone-'));
    for (const origin of ['cluster.local', 'in-addr.arpa', 'ip6.arpa']) {
      const r = await cli(['zone', '--manifests', 'examples', '--origin', origin]);
      assert.equal(r.code, 0, r.stderr);
      const records = r.stdout.split('\n').filter((l) => l && !l.startsWith(';') && !l.startsWith('$'));
      assert.match(records[0]!, new RegExp(`^${origin.replace('.', '\\.')}\\.\\t5\\tIN\\tSOA\\t`));
      for (const l of records) assert.match(l, /^\S+\.\t\d+\tIN\t[A-Z]+\t\S/);
      const file = path.join(dir, `${origin}.zone`);
      fs.writeFileSync(file, r.stdout);
      const check = await run('nsd-checkzone', [origin, file]);
      assert.match(check.stdout, /is ok/);
    }
    const fwd = (await cli(['zone', '--manifests', 'examples'])).stdout;
    assert.match(fwd, /^web\.demo\.svc\.cluster\.local\.\t5\tIN\tA\t10\.96\.100\.10$/m);
    assert.match(fwd, /^_postgres\._tcp\.db\.demo\.svc\.cluster\.local\.\t5\tIN\tSRV\t0 50 5432 db-0\.db\.demo\.svc\.cluster\.local\.$/m);
  });

  it('with the API server unreachable: keeps retrying, listens after --sync-timeout, answers SERVFAIL rather than NXDOMAIN', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-unreach-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    const dead = await freePort();
    fs.writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${dead}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'serve', '--kubeconfig', kubeconfig, '--dns-addr', `127.0.0.1:${port}`, '--sync-timeout', '1', '--no-forward', '--metrics-addr', 'off', '--health-addr', 'off', '--ready-addr', 'off'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await eventually(10_000, 'listening', async () => stderr.includes('"msg":"listening"'));
      const r = await dig(port, 'web.demo.svc.cluster.local', 'A');
      assert.equal(r.status, 'SERVFAIL');
      assert.match(r.authority[0] ?? '', /SOA/);
      assert.match(stderr, /list\/watch failed; retrying/);
      assert.match(stderr, /ECONNREFUSED/);
      assert.equal(child.exitCode, null, 'still running');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
