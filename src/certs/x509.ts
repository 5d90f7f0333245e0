// A CA and a serving certificate for the webhook, with node:crypto only: ECDSA P-256 keys, SHA-256 signatures,
// X.509 v3 (RFC 5280) with the extensions the API server's Go TLS client checks. The serving certificate names
// its hosts in subjectAltName — Go has ignored the Common Name since 1.15 (Kubernetes 1.19), and a URL
// `https://127.0.0.1:8443/mutate` needs an IP entry, a Service `x.ns.svc` a DNS entry.
import { type KeyObject, X509Certificate, createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { parseIP } from '../net/ip.js';
import * as der from './der.js';

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
};

const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 };

export interface KeyPair {
  /** PEM, PKCS#8. */
  key: string;
  /** PEM. */
  cert: string;
}

export interface CertOptions {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
}

const pem = (label: string, body: Buffer): string => `-----BEGIN ${label}-----\n${body.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;

const name = (cn: string): Buffer => der.sequence(der.set(der.sequence(der.objectIdentifier(OID.organization), der.utf8String('cluster-dns'))), der.set(der.sequence(der.objectIdentifier(OID.commonName), der.utf8String(cn))));

const extension = (oid: string, critical: boolean, value: Buffer): Buffer =>
  der.sequence(der.objectIdentifier(oid), ...(critical ? [der.boolean(true)] : []), der.octetString(value));

/** Any value unique to the key does (RFC 5280 §4.2.1.2); this is the leftmost 160 bits of SHA-256 of the SPKI. */
const keyId = (spki: Buffer): Buffer => createHash('sha256').update(spki).digest().subarray(0, 20);

/** The subject Name of a DER certificate, byte for byte: the issuer of what it signs must match it exactly. */
function subjectName(cert: Buffer): Buffer {
  const tbs = der.element(cert, der.element(cert, 0).start);
  let at = tbs.start;
  if (der.element(cert, at).tag === 0xa0) at = der.element(cert, at).end; // version
  for (let i = 0; i < 4; i++) at = der.element(cert, at).end; // serial, signature, issuer, validity
  return cert.subarray(at, der.element(cert, at).end);
}

function build(subject: CertOptions, subjectKey: KeyObject, issuerName: Buffer | undefined, issuerKey: KeyObject, issuerSpki: Buffer, extensions: Buffer[]): string {
  const spki = subjectKey.export({ type: 'spki', format: 'der' });
  const algorithm = der.sequence(der.objectIdentifier(OID.ecdsaWithSHA256));
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // positive, at most 20 octets (RFC 5280 §4.1.2.2)
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)), // v3
    der.unsignedInteger(serial),
    algorithm,
    issuerName ?? name(subject.commonName), // undefined: self-signed
    der.sequence(der.time(subject.notBefore), der.time(subject.notAfter)),
    name(subject.commonName),
    spki,
    der.explicit(3, der.sequence(...extensions, extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicit(0, keyId(issuerSpki)))), extension(OID.subjectKeyIdentifier, false, der.octetString(keyId(spki))))),
  );
  const signature = sign('sha256', tbs, issuerKey); // ECDSA: DER Ecdsa-Sig-Value
  return pem('CERTIFICATE', der.sequence(tbs, algorithm, der.bitString(signature)));
}

const newKey = (): { privateKey: KeyObject; publicKey: KeyObject } => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

export function makeCA(opts: CertOptions): KeyPair {
  const { privateKey, publicKey } = newKey();
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const cert = build(opts, publicKey, undefined, privateKey, spki, [
    extension(OID.basicConstraints, true, der.sequence(der.boolean(true), der.smallInteger(0))), // CA, path length 0
    extension(OID.keyUsage, true, der.namedBits([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
  ]);
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert };
}

/** Splits host names and IP addresses; throws on anything that is neither. */
export function parseHosts(hosts: readonly string[]): { dns: string[]; ips: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const raw of hosts) {
    const h = raw.trim().replace(/^\[(.*)\]$/, '$1');
    if (isIP(h) !== 0) ips.push(h);
    else if (/^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(h)) dns.push(h.toLowerCase());
    else throw new Error(`${JSON.stringify(raw)} is neither a DNS name nor an IP address`);
  }
  return { dns, ips };
}

/** A serving certificate for `hosts` (DNS names and IP addresses), signed by `ca`. */
export function makeServingCert(ca: KeyPair, hosts: readonly string[], opts: Omit<CertOptions, 'commonName'>): KeyPair {
  const { dns, ips } = parseHosts(hosts);
  if (dns.length + ips.length === 0) throw new Error('a serving certificate needs at least one host');
  const caCert = new X509Certificate(ca.cert);
  const caKey = createPrivateKey(ca.key);
  const { privateKey, publicKey } = newKey();
  const sans = der.sequence(...dns.map((d) => der.implicit(2, Buffer.from(d, 'ascii'))), ...ips.map((ip) => der.implicit(7, Buffer.from(parseIP(ip)!.bytes))));
  const cert = build({ ...opts, commonName: dns[0] ?? ips[0]! }, publicKey, subjectName(caCert.raw), caKey, caCert.publicKey.export({ type: 'spki', format: 'der' }), [
    extension(OID.basicConstraints, true, der.sequence()),
    extension(OID.keyUsage, true, der.namedBits([KEY_USAGE.digitalSignature])),
    extension(OID.extKeyUsage, false, der.sequence(der.objectIdentifier(OID.serverAuth))),
    extension(OID.subjectAltName, false, sans),
  ]);
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert };
}
