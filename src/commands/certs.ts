// `cluster-dns certs`: TLS material for the webhook without openssl — a CA (kept and reused when already in
// --out, so re-running only renews the serving certificate and the caBundle stays valid) and a serving
// certificate for --hosts — and, with --patch-webhook, the CA written into the MutatingWebhookConfiguration's
// caBundle from the user's machine, so the webhook itself needs no write access to the API.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Config, ConfigError } from '../config/config.js';
import { loadApiClient } from '../kube/client.js';
import { ApiRequestError, apiRequest } from '../kube/request.js';
import { type KeyPair, makeCA, makeServingCert, parseHosts } from '../certs/x509.js';

const CA_YEARS = 10;
const DAY_MS = 86_400_000;
/** Backdating covers clocks a little behind ours (the API server's, a node's). */
const BACKDATE_MS = 5 * 60_000;

/** Writes through a temporary file and a rename, so a webhook watching the folder never reads half a file. */
function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text, { mode });
  fs.renameSync(tmp, file);
}

/** The CA in `dir` if both files are there and usable, else undefined; half a pair or a bad one is an error. */
function existingCA(dir: string, now: Date): KeyPair | undefined {
  const certFile = path.join(dir, 'ca.crt');
  const keyFile = path.join(dir, 'ca.key');
  const have = [fs.existsSync(certFile), fs.existsSync(keyFile)];
  if (!have[0] && !have[1]) return undefined;
  if (!have[0] || !have[1]) throw new ConfigError(`${dir}: has only one of ca.crt and ca.key: remove it to make a new CA`);
  const pair = { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
    const key = createPrivateKey(pair.key);
    if (key.asymmetricKeyType !== 'ec' || !cert.checkPrivateKey(key)) throw new Error('not an EC key matching ca.crt');
  } catch (err) {
    throw new ConfigError(`${dir}/ca.crt, ca.key: ${(err as Error).message}: remove both to make a new CA`);
  }
  if (!cert.ca) throw new ConfigError(`${certFile} is not a CA certificate: remove ca.crt and ca.key to make a new CA`);
  if (new Date(cert.validTo) <= now) throw new ConfigError(`${certFile} expired on ${new Date(cert.validTo).toISOString()}: remove ca.crt and ca.key to make a new CA`);
  return pair;
}

export interface CertsResult {
  ca: KeyPair;
  serving: KeyPair;
  reusedCA: boolean;
  lines: string[];
}

export function writeCerts(config: Pick<Config, 'out' | 'hosts' | 'validDays'>, now = new Date()): CertsResult {
  if (!config.out) throw new ConfigError('certs: --out DIR is required');
  const hosts = config.hosts.split(',').map((h) => h.trim()).filter((h) => h !== '');
  try {
    parseHosts(hosts);
  } catch (err) {
    throw new ConfigError(`--hosts: ${(err as Error).message}`);
  }
  if (hosts.length === 0) throw new ConfigError('--hosts: give at least one DNS name or IP address');
  fs.mkdirSync(config.out, { recursive: true, mode: 0o700 });
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const lines: string[] = [];
  let ca = existingCA(config.out, now);
  const reusedCA = ca !== undefined;
  if (!ca) {
    const notAfter = new Date(now);
    notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_YEARS);
    ca = makeCA({ commonName: 'cluster-dns webhook CA', notBefore, notAfter });
    writeAtomic(path.join(config.out, 'ca.key'), ca.key, 0o600);
    writeAtomic(path.join(config.out, 'ca.crt'), ca.cert, 0o644);
  }
  const caCert = new X509Certificate(ca.cert);
  lines.push(`${reusedCA ? 'reused' : 'wrote'} ${path.join(config.out, 'ca.crt')} and ca.key (valid until ${new Date(caCert.validTo).toISOString()})`);
  // Never past the CA: a chain is only as valid as its shortest link.
  const notAfter = new Date(Math.min(now.getTime() + config.validDays * DAY_MS, new Date(caCert.validTo).getTime()));
  const serving = makeServingCert(ca, hosts, { notBefore, notAfter });
  writeAtomic(path.join(config.out, 'tls.key'), serving.key, 0o600);
  writeAtomic(path.join(config.out, 'tls.crt'), serving.cert, 0o644);
  lines.push(`wrote ${path.join(config.out, 'tls.crt')} and tls.key for ${hosts.join(', ')} (valid until ${new Date(new X509Certificate(serving.cert).validTo).toISOString()})`);
  return { ca, serving, reusedCA, lines };
}

interface WebhookConfiguration {
  metadata?: { resourceVersion?: string };
  webhooks?: Array<{ name?: string }>;
}

/** Sets caBundle on every webhook of a MutatingWebhookConfiguration; the resourceVersion test fails on a race. */
export async function patchCABundle(kubeconfig: string | undefined, name: string, caPem: string): Promise<string> {
  const client = await loadApiClient(kubeconfig);
  const url = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(name)}`;
  let current: WebhookConfiguration;
  try {
    current = (await apiRequest(client, 'GET', url)) as WebhookConfiguration;
  } catch (err) {
    if (err instanceof ApiRequestError && err.status === 404) throw new ConfigError(`--patch-webhook: there is no mutatingwebhookconfiguration/${name} (apply the manifests first)`);
    throw err;
  }
  const webhooks = current.webhooks ?? [];
  if (webhooks.length === 0) throw new Error(`mutatingwebhookconfiguration/${name} has no webhooks`);
  const caBundle = Buffer.from(caPem).toString('base64');
  const patch = [
    { op: 'test', path: '/metadata/resourceVersion', value: current.metadata?.resourceVersion },
    ...webhooks.map((_, i) => ({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle })),
  ];
  await apiRequest(client, 'PATCH', url, patch, 'application/json-patch+json');
  return `patched caBundle of mutatingwebhookconfiguration/${name} (${webhooks.map((w) => w.name).join(', ')})`;
}

/** The settings `certs` reads. */
export type CertsConfig = Pick<Config, 'out' | 'hosts' | 'validDays' | 'patchWebhook' | 'kubeconfig'>;

export async function certsCommand(config: CertsConfig): Promise<void> {
  const result = writeCerts(config);
  for (const line of result.lines) console.log(line);
  if (config.patchWebhook) console.log(await patchCABundle(config.kubeconfig, config.patchWebhook, result.ca.cert));
}
