// In-cluster configuration: which credentials loadApiClient picks, and that a rotated token is used at once.
// (test/integration/deploy.test.ts runs the same path against the real API server with a minted token.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inClusterClient, loadApiClient } from '../../src/kube/client.js';
import { loadConfig } from '../../src/config/config.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** A service-account folder laid out as the kubelet does: files are symlinks into `..data`, swapped atomically. */
function saDir(token: string): { dir: string; rotate(token: string): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-sa-'));
  let n = 0;
  const write = (t: string): void => {
    const ts = path.join(dir, `..ts${n++}`);
    fs.mkdirSync(ts);
    fs.writeFileSync(path.join(ts, 'token'), t);
    fs.writeFileSync(path.join(ts, 'ca.crt'), CA);
    fs.writeFileSync(path.join(ts, 'namespace'), 'kube-system');
    fs.symlinkSync(path.basename(ts), path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  };
  write(token);
  for (const f of ['token', 'ca.crt', 'namespace']) fs.symlinkSync(path.join('..data', f), path.join(dir, f));
  return { dir, rotate: write };
}

/** The Authorization header of a request's options, whatever its case. */
async function bearer(client: { requestOptions(): Promise<{ headers?: unknown }> }): Promise<string | undefined> {
  const headers = (await client.requestOptions()).headers as Record<string, string> | undefined;
  return headers?.['authorization'] ?? headers?.['Authorization'];
}

const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

describe('API client: in-cluster configuration', () => {
  it('uses KUBERNETES_SERVICE_HOST/PORT, <dir>/ca.crt and a bearer token from <dir>/token (trimmed)', async () => {
    const sa = saDir('token-one\n');
    const client = await loadApiClient(undefined, { serviceAccountDir: sa.dir, env });
    assert.equal(client.server.href, 'https://10.96.0.1/'); // 443 is https's default port
    const opts = await client.requestOptions();
    assert.deepEqual(opts.headers, { authorization: 'Bearer token-one' });
    assert.equal(String(opts.ca), CA);
  });

  it('reads the token again for every request: a kubelet-style rotation (symlink swap) is used by the next request', async () => {
    const sa = saDir('token-one');
    const client = inClusterClient(sa.dir, env);
    assert.equal(await bearer(client), 'Bearer token-one');
    sa.rotate('token-two');
    assert.equal(await bearer(client), 'Bearer token-two');
    fs.writeFileSync(path.join(sa.dir, '..data', 'token'), 'token-three'); // a plain overwrite too
    assert.equal(await bearer(client), 'Bearer token-three');
  });

  it('brackets an IPv6 service host', async () => {
    const sa = saDir('t');
    const client = inClusterClient(sa.dir, { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '6443' });
    assert.equal(client.server.href, 'https://[fd00:10:96::1]:6443/');
  });

  it('says what is missing: the port, the CA, an empty token', async () => {
    const sa = saDir('t');
    assert.throws(() => inClusterClient(sa.dir, { KUBERNETES_SERVICE_HOST: '10.96.0.1' }), /needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/);
    fs.rmSync(path.join(sa.dir, 'ca.crt'));
    assert.throws(() => inClusterClient(sa.dir, env), /cannot read .*ca\.crt: ENOENT/);
    const empty = saDir('  \n');
    await assert.rejects(inClusterClient(empty.dir, env).requestOptions(), /token is empty/);
  });

  it('--kubeconfig wins over in-cluster; without a token in the folder the kubeconfig path is used', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-kc-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1', 'kind: Config', 'current-context: c',
        'clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]',
        'users: [{name: u, user: {token: from-kubeconfig}}]',
        'contexts: [{name: c, context: {cluster: k, user: u}}]',
      ].join('\n'),
    );
    const sa = saDir('from-service-account');
    const explicit = await loadApiClient(kubeconfig, { serviceAccountDir: sa.dir, env });
    assert.equal(explicit.server.origin, 'https://127.0.0.1:6443');
    assert.equal(await bearer(explicit), 'Bearer from-kubeconfig');
    const noToken = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-sa-empty-'));
    const saved = process.env['KUBECONFIG'];
    process.env['KUBECONFIG'] = kubeconfig; // client-node's default loading reads the process environment
    try {
      const fallback = await loadApiClient(undefined, { serviceAccountDir: noToken, env });
      assert.equal(fallback.server.origin, 'https://127.0.0.1:6443');
    } finally {
      if (saved === undefined) delete process.env['KUBECONFIG'];
      else process.env['KUBECONFIG'] = saved;
    }
  });

  it('--service-account-dir and CLUSTER_DNS_SERVICE_ACCOUNT_DIR set the folder; the default is the kubelet mount', () => {
    assert.equal(loadConfig('serve', [], {}).serviceAccountDir, '/var/run/secrets/kubernetes.io/serviceaccount');
    assert.equal(loadConfig('serve', ['--service-account-dir', '/tmp/sa'], {}).serviceAccountDir, '/tmp/sa');
    assert.equal(loadConfig('zone', [], { CLUSTER_DNS_SERVICE_ACCOUNT_DIR: '/x' }).serviceAccountDir, '/x');
  });
});
