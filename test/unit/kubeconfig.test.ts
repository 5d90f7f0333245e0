// The direct kubeconfig reader: static credentials are read without client-node; anything else is declined.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readKubeconfig } from '../../src/kube/kubeconfig.js';

function write(dir: string, user: string, cluster = 'server: https://127.0.0.1:6443\n    certificate-authority: ca.crt'): string {
  const file = path.join(dir, 'config');
  fs.writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: c
contexts:
- name: c
  context: {cluster: k, user: u}
- name: other
  context: {cluster: nope, user: nope}
clusters:
- name: k
  cluster:
    ${cluster}
users:
- name: u
  user:
    ${user}
`,
  );
  return file;
}

describe('kubeconfig reader', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-kc-'));
    fs.writeFileSync(path.join(dir, 'ca.crt'), 'CA');
  });

  it('client certificate and key, as data or as files relative to the kubeconfig', async () => {
    fs.writeFileSync(path.join(dir, 'key.pem'), 'KEY');
    const c = readKubeconfig(write(dir, `client-certificate-data: ${Buffer.from('CERT').toString('base64')}\n    client-key: key.pem`))!;
    assert.equal(c.server.href, 'https://127.0.0.1:6443/');
    const o = await c.requestOptions();
    assert.equal(String(o.ca), 'CA');
    assert.equal(String(o.cert), 'CERT');
    assert.equal(String(o.key), 'KEY');
    assert.equal(o.rejectUnauthorized, true);
    assert.equal(o.headers, undefined);
  });

  it('a token file is read at every request (rotation), a token as is, basic auth encoded', async () => {
    fs.writeFileSync(path.join(dir, 'tok'), 'one\n');
    const c = readKubeconfig(write(dir, 'tokenFile: tok'))!;
    assert.deepEqual((await c.requestOptions()).headers, { authorization: 'Bearer one' });
    fs.writeFileSync(path.join(dir, 'tok'), 'two');
    assert.deepEqual((await c.requestOptions()).headers, { authorization: 'Bearer two' });
    assert.deepEqual((await readKubeconfig(write(dir, 'token: abc'))!.requestOptions()).headers, { authorization: 'Bearer abc' });
    assert.deepEqual((await readKubeconfig(write(dir, 'username: a\n    password: b'))!.requestOptions()).headers, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
  });

  it('honours insecure-skip-tls-verify and tls-server-name', async () => {
    const c = readKubeconfig(write(dir, 'token: t', 'server: https://10.0.0.1:443\n    insecure-skip-tls-verify: true\n    tls-server-name: api.local'))!;
    const o = await c.requestOptions();
    assert.equal(o.rejectUnauthorized, false);
    assert.equal(o.servername, 'api.local');
  });

  it('declines exec and auth-provider users, impersonation and proxies (client-node handles those)', () => {
    assert.equal(readKubeconfig(write(dir, 'exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}')), undefined);
    assert.equal(readKubeconfig(write(dir, 'auth-provider: {name: oidc}')), undefined);
    assert.equal(readKubeconfig(write(dir, 'token: t\n    as: someone')), undefined);
    assert.equal(readKubeconfig(write(dir, 'token: t', 'server: https://1.2.3.4\n    proxy-url: http://proxy:3128')), undefined);
  });
});
