// `cluster-dns webhook`: composition root of the env-var injector. The same source as `serve` (API watches or
// --manifests) feeds a ClusterState; admit.ts answers reviews from it; server.ts serves HTTPS with a TLS pair
// that tls-files.ts keeps current. Ready once the Services have been read.
import fs from 'node:fs';
import { createWebhookRegistry } from '../ops/metrics.js';
import { ConfigError, type Config } from '../config/config.js';
import { envPolicy } from '../env/pod-env.js';
import type { Logger } from '../base/log.js';
import { ENV_KINDS, type SourceConfig, startSource } from '../sources/index.js';
import { type WebhookCounters, admit, newCounters } from '../webhook/admit.js';
import { type WebhookServer, listenWebhook } from '../webhook/server.js';
import { describeCert, loadTlsPair, watchTlsPair } from '../webhook/tls-files.js';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface RunningWebhook {
  server: WebhookServer;
  counters: WebhookCounters;
  synced(): boolean;
  stop(): Promise<void>;
}

/** The settings the webhook reads. */
export type WebhookConfig = SourceConfig & Pick<Config, 'tlsCert' | 'tlsKey' | 'ownNamespace' | 'webhookAddr' | 'maxEnvBytes' | 'envFromContainers' | 'serviceLinks'>;

function ownNamespace(config: WebhookConfig): string | undefined {
  if (config.ownNamespace) return config.ownNamespace;
  try {
    return fs.readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function startWebhook(config: WebhookConfig, log: Logger): Promise<RunningWebhook> {
  if (!config.tlsCert || !config.tlsKey) throw new ConfigError('webhook: --tls-cert and --tls-key are required (the API server calls webhooks over HTTPS only; `cluster-dns certs` makes a pair)');
  const paths = { cert: config.tlsCert, key: config.tlsKey };
  const tls = loadTlsPair(paths);
  const own = ownNamespace(config);
  const policy = envPolicy(config, own);
  const { state, source } = await startSource(config, log, { watch: true, kinds: ENV_KINDS });
  log.info('source started', { source: source.describe(), neverMutate: policy.neverMutate, maxEnvBytes: policy.maxEnvBytes, envFromContainers: policy.envFromContainers, serviceLinks: policy.serviceLinks });
  const counters = newCounters();
  const registry = createWebhookRegistry(() => ({ ...counters }));
  const requestLog = log.child({ component: 'admission' });
  let server: WebhookServer;
  try {
    server = await listenWebhook({
      host: config.webhookAddr.host,
      port: config.webhookAddr.port,
      tls,
      review: (body) => admit(body, { cluster: state, policy, synced: () => source.synced(), counters, log: requestLog }),
      ready: () => source.synced(),
      metrics: { text: () => registry.metrics(), contentType: registry.contentType },
      log,
    });
  } catch (err) {
    source.stop();
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot listen on ${config.webhookAddr.host || '*'}:${config.webhookAddr.port}: ${e.code ?? e.message}`);
  }
  log.info('listening', { https: `${server.address.address}:${server.address.port}`, ...describeCert(tls.cert) });
  const tlsWatch = watchTlsPair(paths, tls, (pair) => server.setTls(pair), log);
  const t0 = Date.now();
  let stopped = false;
  void source.whenSynced().then(() => {
    if (!stopped) log.info('initial sync done; ready', { ms: Date.now() - t0, ...state.counts() });
  });
  return {
    server,
    counters,
    synced: () => source.synced(),
    stop: async () => {
      stopped = true;
      tlsWatch.stop();
      source.stop();
      await server.close();
    },
  };
}

/** The process: start, then stop cleanly on SIGTERM/SIGINT, logging the counters. */
export async function runWebhook(config: WebhookConfig, log: Logger): Promise<void> {
  const webhook = await startWebhook(config, log);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal, ...webhook.counters });
    void webhook.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
