// Test PKI for the control plane, made with the `openssl` CLI (Node can make keys but not X.509 certificates).
//
// One throwaway CA signs the API server's serving certificate and the admin client certificate; the API server
// trusts the same CA for client certificates (--client-ca-file). ECDSA P-256 keys keep this to a few tens of
// milliseconds. Nothing here is secret: the directory is deleted with the control plane.
import { execFile } from 'node:child_process';
import { generateKeyPair } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const generateKeyPairP = promisify(generateKeyPair);

export interface Pki {
  caCert: string;
  caKey: string;
  /** Serving certificate for kube-apiserver; SANs 127.0.0.1, localhost, 10.96.0.1 (the `kubernetes` Service IP) and its names, and any extra addresses. */
  apiserverCert: string;
  apiserverKey: string;
  /** Client certificate CN=admin, O=system:masters: a cluster admin through the built-in RBAC binding. */
  adminCert: string;
  adminKey: string;
  /** Key pair the API server verifies and the controller manager signs service-account tokens with. */
  serviceAccountKey: string;
  serviceAccountPub: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileP('openssl', args);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error('certificates: `openssl` not found: install it (apt-get install openssl) or run `bash test/setup.sh`');
    }
    throw new Error(`certificates: openssl ${args[0]} failed: ${(e.stderr ?? e.message).trim().split('\n').pop()}`);
  }
}

/** A leaf certificate signed by the CA in one `openssl req -x509 -CA` call (OpenSSL 3.0+). */
function leaf(pki: Pki, cert: string, key: string, subject: string, extensions: string[]): Promise<void> {
  const addext = extensions.flatMap((ext) => ['-addext', ext]);
  return openssl(['req', '-x509', '-new', ...EC_KEY, '-keyout', key, '-out', cert, '-days', '365', '-subj', subject,
    '-CA', pki.caCert, '-CAkey', pki.caKey, '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature', ...addext]);
}

/** `ipSans` are added to the API server certificate's SANs (127.0.0.1 is always there). */
export async function generatePki(dir: string, ipSans: string[] = []): Promise<Pki> {
  const p = (name: string): string => join(dir, name);
  const pki: Pki = {
    caCert: p('ca.crt'), caKey: p('ca.key'),
    apiserverCert: p('apiserver.crt'), apiserverKey: p('apiserver.key'),
    adminCert: p('admin.crt'), adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'), serviceAccountPub: p('sa.pub'),
  };
  // `req -x509` without -CA makes a self-signed certificate with basicConstraints CA:TRUE.
  await openssl(['req', '-x509', '-new', ...EC_KEY, '-keyout', pki.caKey, '-out', pki.caCert, '-days', '365',
    '-subj', '/CN=cluster-dns-test-ca']);
  const serviceAccount = generateKeyPairP('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).then(({ privateKey, publicKey }) =>
    Promise.all([writeFile(pki.serviceAccountKey, privateKey), writeFile(pki.serviceAccountPub, publicKey)]));
  await Promise.all([
    leaf(pki, pki.apiserverCert, pki.apiserverKey, '/CN=kube-apiserver', [
      `subjectAltName=${[...new Set(['127.0.0.1', ...ipSans, '10.96.0.1'])].map((ip) => `IP:${ip}`).join(',')},` +
        'DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
      'extendedKeyUsage=serverAuth',
    ]),
    leaf(pki, pki.adminCert, pki.adminKey, '/O=system:masters/CN=admin', ['extendedKeyUsage=clientAuth']),
    serviceAccount,
  ]);
  return pki;
}
