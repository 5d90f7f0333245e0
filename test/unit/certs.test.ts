// `cluster-dns certs` material: DER encodings against known bytes, certificates read back by node:crypto and
// checked by openssl (an independent parser and verifier), the CA kept across runs, bad hosts refused.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeCerts } from '../../src/commands/certs.js';
import * as der from '../../src/certs/der.js';
import { makeCA, makeServingCert, parseHosts } from '../../src/certs/x509.js';
import { ConfigError } from '../../src/config/config.js';

const run = promisify(execFile);

describe('certs: DER', () => {
  it('encodes OIDs, integers, lengths, times and named bits as X.690 says', () => {
    assert.equal(der.objectIdentifier('1.2.840.10045.4.3.2').toString('hex'), '06082a8648ce3d040302');
    assert.equal(der.unsignedInteger(Buffer.from([0x00, 0x00, 0x80])).toString('hex'), '02020080');
    assert.equal(der.smallInteger(0).toString('hex'), '020100');
    assert.equal(der.octetString(Buffer.alloc(200)).subarray(0, 3).toString('hex'), '0481c8');
    assert.equal(der.time(new Date('2049-12-31T23:59:59Z')).toString('latin1'), '\x17\x0d491231235959Z');
    assert.equal(der.time(new Date('2050-01-01T00:00:00Z')).toString('latin1'), '\x18\x0f20500101000000Z');
    assert.equal(der.namedBits([0]).toString('hex'), '03020780'); // digitalSignature
    assert.equal(der.namedBits([0, 5, 6]).toString('hex'), '03020186'); // + keyCertSign, cRLSign
  });
});

describe('certs: certificates', () => {
  const now = new Date();
  const later = new Date(now.getTime() + 30 * 86_400_000);
  const ca = makeCA({ commonName: 'test CA', notBefore: now, notAfter: later });
  const leaf = makeServingCert(ca, ['cluster-dns-webhook.cluster-dns.svc', '127.0.0.1', '::1'], { notBefore: now, notAfter: later });

  it('a CA and a serving certificate with IP and DNS SANs, signed by it (node:crypto)', () => {
    const c = new X509Certificate(leaf.cert);
    const caCert = new X509Certificate(ca.cert);
    assert.ok(caCert.ca);
    assert.ok(!c.ca);
    assert.ok(c.verify(caCert.publicKey));
    assert.ok(c.checkIssued(caCert));
    assert.equal(c.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(c.checkIP('::1'), '::1');
    assert.equal(c.checkHost('cluster-dns-webhook.cluster-dns.svc'), 'cluster-dns-webhook.cluster-dns.svc');
    assert.equal(c.checkHost('other.svc'), undefined);
    assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.1']); // node's keyUsage is the extended key usage: serverAuth
  });

  it('openssl verifies it for TLS server use and reads the extensions back', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-certs-'));
    fs.writeFileSync(path.join(dir, 'ca.crt'), ca.cert);
    fs.writeFileSync(path.join(dir, 'tls.crt'), leaf.cert);
    const verify = await run('openssl', ['verify', '-CAfile', path.join(dir, 'ca.crt'), '-purpose', 'sslserver', path.join(dir, 'tls.crt')]);
    assert.match(verify.stdout, /tls\.crt: OK/);
    const text = (await run('openssl', ['x509', '-in', path.join(dir, 'tls.crt'), '-noout', '-text'])).stdout;
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature/);
    assert.match(text, /Extended Key Usage:\s+TLS Web Server Authentication/);
    assert.match(text, /DNS:cluster-dns-webhook\.cluster-dns\.svc, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    const caText = (await run('openssl', ['x509', '-in', path.join(dir, 'ca.crt'), '-noout', '-text'])).stdout;
    assert.match(caText, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(caText, /Certificate Sign, CRL Sign/);
  });

  it('hosts: DNS names and IPs; anything else is refused', () => {
    assert.deepEqual(parseHosts(['a.b.svc', '10.0.0.1', '[fd00::1]', '*.x.svc']), { dns: ['a.b.svc', '*.x.svc'], ips: ['10.0.0.1', 'fd00::1'] });
    assert.throws(() => parseHosts(['a b']), /is neither a DNS name nor an IP address/);
    assert.throws(() => parseHosts(['-x.svc']), /is neither/);
  });
});

describe('certs: the command', () => {
  it('writes the four files (keys 0600), then keeps the CA and renews only the serving pair', () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-certs-')), 'out');
    const first = writeCerts({ out: dir, hosts: '127.0.0.1,webhook.ns.svc', validDays: 10 });
    assert.equal(first.reusedCA, false);
    for (const f of ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']) assert.ok(fs.existsSync(path.join(dir, f)), f);
    assert.equal(fs.statSync(path.join(dir, 'tls.key')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(dir, 'ca.key')).mode & 0o777, 0o600);
    const validTo = new Date(new X509Certificate(first.serving.cert).validTo).getTime();
    assert.ok(Math.abs(validTo - (Date.now() + 10 * 86_400_000)) < 120_000);

    const second = writeCerts({ out: dir, hosts: '127.0.0.1', validDays: 10 });
    assert.equal(second.reusedCA, true);
    assert.equal(second.ca.cert, first.ca.cert);
    assert.notEqual(second.serving.cert, first.serving.cert);
    assert.ok(new X509Certificate(fs.readFileSync(path.join(dir, 'tls.crt'))).verify(new X509Certificate(first.ca.cert).publicKey));
  });

  it('refuses bad hosts and a half CA, naming the problem', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-certs-'));
    assert.throws(() => writeCerts({ out: dir, hosts: 'ok.svc,not valid', validDays: 1 }), (e: unknown) => e instanceof ConfigError && /--hosts: "not valid" is neither/.test(e.message));
    fs.writeFileSync(path.join(dir, 'ca.crt'), 'x');
    assert.throws(() => writeCerts({ out: dir, hosts: 'ok.svc', validDays: 1 }), /has only one of ca.crt and ca.key/);
  });
});
