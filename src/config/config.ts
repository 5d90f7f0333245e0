// Settings for every command, from one table: flags beat environment variables (CLUSTER_DNS_<NAME>), which
// beat the YAML config file (--config), which beats the defaults. The same table prints --help and the
// README's reference, and validates eagerly: a bad value stops start-up with a message naming it.
import { ConfigError } from '../base/errors.js';
export { ConfigError };
import fs from 'node:fs';
import { isIP } from 'node:net';
import yaml from 'js-yaml';
import { parseStubDomain, parseUpstream } from '../forward/upstreams.js';


type Kind = 'string' | 'int' | 'bool' | 'list' | 'enum' | 'addr' | 'listen';

export interface OptionSpec {
  /** Flag name without dashes; the config file key is its camelCase form, the env var CLUSTER_DNS_<SNAKE>. */
  name: string;
  /** Config property, when not the camelCase flag name (repeatable `--zone` fills `zones`). */
  key?: string;
  /** For lists: what each item must be. */
  item?: 'zone' | 'upstream' | 'stub';
  kind: Kind;
  help: string;
  default?: string | number | boolean | string[];
  values?: readonly string[];
  min?: number;
  max?: number;
  commands: readonly Command[];
}

export type Command = 'serve' | 'zone' | 'webhook' | 'env' | 'certs';

export const OPTIONS: readonly OptionSpec[] = [
  { name: 'config', kind: 'string', help: 'YAML file with any of these settings (keys in camelCase)', commands: ['serve', 'zone', 'webhook'] },
  { name: 'kubeconfig', kind: 'string', help: 'kubeconfig file; default: in-cluster config, then $KUBECONFIG, then ~/.kube/config', commands: ['serve', 'zone', 'webhook', 'env', 'certs'] },
  { name: 'service-account-dir', kind: 'string', default: '/var/run/secrets/kubernetes.io/serviceaccount', help: 'in-cluster credentials folder (token, ca.crt), used without --kubeconfig when KUBERNETES_SERVICE_HOST is set; the token is re-read for every request', commands: ['serve', 'zone'] },
  { name: 'manifests', kind: 'string', help: 'serve objects from a YAML/JSON file or folder instead of the API server (watched for changes)', commands: ['serve', 'zone', 'webhook', 'env'] },
  { name: 'zone', key: 'zones', kind: 'list', item: 'zone', default: ['cluster.local'], help: 'cluster zone (repeatable; the first is primary). in-addr.arpa and ip6.arpa are always served', commands: ['serve', 'zone'] },
  { name: 'dns-addr', kind: 'addr', default: ':53', help: 'UDP and TCP listen address HOST:PORT; an empty host means every IPv4 and IPv6 address', commands: ['serve'] },
  { name: 'ttl', kind: 'int', default: 5, min: 0, max: 3600, help: 'TTL of cluster records, seconds (CoreDNS default)', commands: ['serve', 'zone'] },
  { name: 'pods', kind: 'enum', default: 'insecure', values: ['disabled', 'insecure', 'verified'], help: 'answer <a-b-c-d>.<ns>.pod.<zone>: disabled, insecure (any IP), verified (a pod has it; watches Pods)', commands: ['serve', 'zone'] },
  { name: 'endpoint-pod-names', kind: 'bool', default: false, help: 'name endpoints without a hostname after their pod instead of their dashed IP', commands: ['serve', 'zone'] },
  { name: 'ignore-empty-service', kind: 'bool', default: false, help: 'NXDOMAIN for ClusterIP services without ready endpoints', commands: ['serve', 'zone'] },
  { name: 'no-forward', kind: 'bool', default: false, help: 'answer REFUSED for names outside the served zones instead of forwarding', commands: ['serve'] },
  { name: 'upstream', key: 'upstreams', kind: 'list', item: 'upstream', default: [], help: 'forward names outside the zones to this server, ADDR[:PORT] (repeatable); default: the nameservers of --resolv-conf', commands: ['serve'] },
  { name: 'resolv-conf', kind: 'string', default: '/etc/resolv.conf', help: 'where to read upstream nameservers when no --upstream is given', commands: ['serve'] },
  { name: 'stub-domain', key: 'stubDomains', kind: 'list', item: 'stub', default: [], help: 'send a domain to its own servers, DOMAIN=ADDR[:PORT][,ADDR...] (repeatable)', commands: ['serve'] },
  { name: 'policy', kind: 'enum', default: 'random', values: ['random', 'round_robin', 'sequential'], help: 'order in which upstreams are tried', commands: ['serve'] },
  { name: 'upstream-timeout', kind: 'int', default: 2000, min: 10, max: 60_000, help: 'milliseconds to wait for one upstream before trying the next', commands: ['serve'] },
  { name: 'max-concurrent', kind: 'int', default: 1000, min: 1, max: 1_000_000, help: 'upstream queries in flight at once; more are answered REFUSED', commands: ['serve'] },
  { name: 'max-fails', kind: 'int', default: 2, min: 1, max: 1000, help: 'consecutive failures that mark an upstream down until a health check succeeds', commands: ['serve'] },
  { name: 'health-check-interval', kind: 'int', default: 500, min: 50, max: 60_000, help: 'milliseconds between health checks of a down upstream', commands: ['serve'] },
  { name: 'cache-ttl', kind: 'int', default: 30, min: 0, max: 86_400, help: 'longest time, seconds, a forwarded answer is cached (0: no cache)', commands: ['serve'] },
  { name: 'cache-negative-ttl', kind: 'int', default: 30, min: 0, max: 86_400, help: 'longest time, seconds, an NXDOMAIN/NODATA answer is cached', commands: ['serve'] },
  { name: 'cache-servfail-ttl', kind: 'int', default: 5, min: 0, max: 300, help: 'seconds a failed lookup answers SERVFAIL from the cache', commands: ['serve'] },
  { name: 'cache-size', kind: 'int', default: 10_000, min: 1, max: 10_000_000, help: 'cached answers, at most', commands: ['serve'] },
  { name: 'cache-max-bytes', kind: 'int', default: 64 * 1024 * 1024, min: 1024, max: 4 * 1024 * 1024 * 1024, help: 'approximate memory of cached answers, at most', commands: ['serve'] },
  { name: 'serve-stale', kind: 'bool', default: false, help: 'when every upstream fails, answer from expired cache entries (RFC 8767), with TTL 30', commands: ['serve'] },
  { name: 'serve-stale-window', kind: 'int', default: 3600, min: 1, max: 7 * 86_400, help: 'seconds past expiry an entry may be served stale', commands: ['serve'] },
  { name: 'tcp-idle-timeout', kind: 'int', default: 10, min: 1, max: 3600, help: 'seconds an idle TCP connection is kept', commands: ['serve'] },
  { name: 'tcp-max-connections', kind: 'int', default: 1000, min: 1, max: 1_000_000, help: 'TCP connections accepted at once; more are closed', commands: ['serve'] },
  { name: 'sync-timeout', kind: 'int', default: 5, min: 0, max: 3600, help: 'seconds to wait for the first sync before listening (CoreDNS startup_timeout); queries are then SERVFAIL instead of NXDOMAIN until synced', commands: ['serve'] },
  { name: 'origin', kind: 'string', help: 'the served zone to print (a cluster zone, in-addr.arpa or ip6.arpa); default: the primary zone', commands: ['zone'] },
  { name: 'metrics-addr', kind: 'listen', default: ':9153', help: 'Prometheus /metrics listener HOST:PORT (CoreDNS prometheus :9153); off disables it', commands: ['serve'] },
  { name: 'health-addr', kind: 'listen', default: ':8080', help: 'liveness /health listener HOST:PORT (CoreDNS health :8080); off disables it', commands: ['serve'] },
  { name: 'ready-addr', kind: 'listen', default: ':8181', help: 'readiness /ready listener HOST:PORT (CoreDNS ready :8181); off disables it', commands: ['serve'] },
  { name: 'lameduck', kind: 'int', default: 5, min: 0, max: 300, help: 'seconds to keep answering after SIGTERM, unready, before closing (CoreDNS health lameduck 5s)', commands: ['serve'] },
  { name: 'loadbalance', kind: 'enum', default: 'round_robin', values: ['round_robin', 'off'], help: 'shuffle the order of A/AAAA records in each answer (CoreDNS loadbalance)', commands: ['serve'] },
  { name: 'log-queries', kind: 'bool', default: false, help: 'log one line per query: client, name, type, rcode, duration (CoreDNS log)', commands: ['serve'] },
  { name: 'debug-records', kind: 'bool', default: false, help: 'serve GET /records?name=... on the metrics listener, to loopback clients: what the index holds for a name, and why', commands: ['serve'] },
  { name: 'log-level', kind: 'enum', default: 'info', values: ['debug', 'info', 'warn', 'error'], help: 'lowest level logged (JSON lines on stderr)', commands: ['serve', 'zone', 'webhook', 'env'] },
  // env-var injector (webhook, env, certs)
  { name: 'listen', key: 'webhookAddr', kind: 'addr', default: ':8443', help: 'HTTPS listen address HOST:PORT of the webhook (POST /mutate, GET /healthz, /readyz)', commands: ['webhook'] },
  { name: 'tls-cert', kind: 'string', help: 'serving certificate (PEM, chain allowed) of the webhook; reloaded when the file changes', commands: ['webhook'] },
  { name: 'tls-key', kind: 'string', help: 'private key (PEM) of --tls-cert; reloaded when the file changes', commands: ['webhook'] },
  { name: 'own-namespace', kind: 'string', help: "the webhook's own namespace, never mutated (as kube-system); default: the service account's namespace when in a cluster", commands: ['webhook'] },
  { name: 'max-env-bytes', kind: 'int', default: 32_768, min: 0, max: 16 * 1024 * 1024, help: 'inject no service variables into a pod when they would take more bytes than this (NAME=VALUE and a NUL each); an admission warning says so', commands: ['webhook', 'env'] },
  { name: 'env-from-containers', kind: 'enum', default: 'skip', values: ['skip', 'inject'], help: 'containers with envFrom: skip (leave their service variables to the kubelet, which ranks envFrom above them) or inject (an env entry outranks envFrom)', commands: ['webhook', 'env'] },
  { name: 'namespace', kind: 'string', help: "the new pod's namespace; default: the --pod file's, else default", commands: ['env'] },
  { name: 'pod', kind: 'string', help: 'a Pod manifest (YAML/JSON): print what each of its containers would get, after its own env, annotations and enableServiceLinks', commands: ['env'] },
  { name: 'no-service-links', kind: 'bool', default: false, help: 'as enableServiceLinks: false (only the kubernetes service of default)', commands: ['env'] },
  { name: 'out', kind: 'string', help: 'folder for ca.crt, ca.key, tls.crt, tls.key; an existing ca.crt/ca.key pair there is reused, so the caBundle stays valid', commands: ['certs'] },
  { name: 'hosts', kind: 'string', default: 'cluster-dns-webhook.cluster-dns.svc', help: 'comma-separated DNS names and IP addresses the serving certificate is valid for', commands: ['certs'] },
  { name: 'valid-days', kind: 'int', default: 365, min: 1, max: 3650, help: 'validity of the serving certificate, days (a new CA is valid 10 years)', commands: ['certs'] },
  { name: 'patch-webhook', kind: 'string', help: "set caBundle of every webhook of this MutatingWebhookConfiguration to the CA, through --kubeconfig (from the user's machine: the webhook needs no write access)", commands: ['certs'] },
];

export interface ListenAddress {
  host: string; // '' = every address
  port: number;
}

export interface Config {
  command: Command;
  config?: string;
  kubeconfig?: string;
  serviceAccountDir: string;
  manifests?: string;
  zones: string[];
  dnsAddr: ListenAddress;
  ttl: number;
  pods: 'disabled' | 'insecure' | 'verified';
  endpointPodNames: boolean;
  ignoreEmptyService: boolean;
  noForward: boolean;
  upstreams: string[];
  resolvConf: string;
  stubDomains: string[];
  policy: 'random' | 'round_robin' | 'sequential';
  upstreamTimeout: number;
  maxConcurrent: number;
  maxFails: number;
  healthCheckInterval: number;
  cacheTtl: number;
  cacheNegativeTtl: number;
  cacheServfailTtl: number;
  cacheSize: number;
  cacheMaxBytes: number;
  serveStale: boolean;
  serveStaleWindow: number;
  tcpIdleTimeout: number;
  tcpMaxConnections: number;
  syncTimeout: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  origin?: string;
  // env-var injector
  webhookAddr: ListenAddress;
  tlsCert?: string;
  tlsKey?: string;
  ownNamespace?: string;
  maxEnvBytes: number;
  envFromContainers: 'skip' | 'inject';
  namespace?: string;
  pod?: string;
  noServiceLinks: boolean;
  out?: string;
  hosts: string;
  validDays: number;
  patchWebhook?: string;
  /** undefined: the listener is off. */
  metricsAddr: ListenAddress | undefined;
  healthAddr: ListenAddress | undefined;
  readyAddr: ListenAddress | undefined;
  lameduck: number;
  loadbalance: 'round_robin' | 'off';
  logQueries: boolean;
  debugRecords: boolean;
}

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
export const envName = (flag: string): string => `CLUSTER_DNS_${flag.replace(/-/g, '_').toUpperCase()}`;

export function parseListenAddress(text: string, what = '--dns-addr'): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535 || (host !== '' && host !== 'localhost' && isIP(host) === 0)) {
    throw new ConfigError(`${what} ${JSON.stringify(text)}: want HOST:PORT, [IPv6]:PORT or :PORT with an IP address host and a port 0-65535`);
  }
  return { host, port };
}

const ZONE_NAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** `where` names the setting as the user gave it: `--ttl`, `environment CLUSTER_DNS_TTL`, `config file f.yaml: ttl`. */
function convert(spec: OptionSpec, raw: unknown, where: string): unknown {
  switch (spec.kind) {
    case 'string':
      if (typeof raw !== 'string' || raw === '') throw new ConfigError(`${where}: want a non-empty string`);
      return raw;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === '') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(`${where}: want true or false, got ${JSON.stringify(raw)}`);
    case 'int': {
      const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw)) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < (spec.min ?? -Infinity) || n > (spec.max ?? Infinity)) {
        throw new ConfigError(`${where}: want an integer from ${spec.min} to ${spec.max}, got ${JSON.stringify(raw)}`);
      }
      return n;
    }
    case 'enum':
      if (!spec.values!.includes(String(raw))) throw new ConfigError(`${where}: want one of ${spec.values!.join(', ')}, got ${JSON.stringify(raw)}`);
      return String(raw);
    case 'addr':
      return parseListenAddress(String(raw), where);
    case 'listen':
      return String(raw) === 'off' ? null : parseListenAddress(String(raw), where);
    case 'list': {
      // A stub domain's own servers are comma-separated, so only zones split on commas.
      const raws = Array.isArray(raw) ? raw.map(String) : spec.item === 'zone' ? String(raw).split(',') : [String(raw)];
      if (spec.item === 'zone') {
        const items = raws.map((z) => z.trim().toLowerCase().replace(/\.$/, ''));
        for (const z of items) if (!ZONE_NAME.test(z)) throw new ConfigError(`${where}: ${JSON.stringify(z)} is not a domain name`);
        return items;
      }
      for (const item of raws) {
        try {
          if (spec.item === 'upstream') parseUpstream(item, where);
          else parseStubDomain(item);
        } catch (err) {
          throw new ConfigError((err as Error).message.startsWith(where) ? (err as Error).message : `${where}: ${(err as Error).message}`);
        }
      }
      return raws.map((r) => r.trim());
    }
  }
}

/** Splits argv into flags; `--flag=value`, `--flag value`, and bare `--bool`. Unknown flags are errors. */
function parseFlags(command: Command, argv: string[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const spec = m ? OPTIONS.find((o) => o.name === m[1] && o.commands.includes(command)) : undefined;
    if (!m || !spec) throw new ConfigError(`unknown argument ${JSON.stringify(arg)} for '${command}' (see cluster-dns ${command} --help)`);
    let value: unknown = m[2];
    if (value === undefined) {
      if (spec.kind === 'bool') value = true;
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new ConfigError(`--${spec.name} needs a value`);
    }
    const converted = convert(spec, value, `--${spec.name}`);
    if (spec.kind === 'list' && out.has(spec.name)) out.set(spec.name, [...(out.get(spec.name) as string[]), ...(converted as string[])]);
    else out.set(spec.name, converted);
  }
  return out;
}

export function loadConfig(command: Command, argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const flags = parseFlags(command, argv);
  const configFile = (flags.get('config') as string | undefined) ?? env[envName('config')];
  let file: Record<string, unknown> = {};
  if (configFile) {
    let parsed: unknown;
    try {
      parsed = yaml.load(fs.readFileSync(configFile, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${configFile}: ${(err as Error).message.split('\n')[0]}`);
    }
    if (parsed !== undefined && parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new ConfigError(`config file ${configFile}: want a mapping of settings`);
    file = (parsed ?? {}) as Record<string, unknown>;
    const known = new Set(OPTIONS.map((o) => camel(o.name)));
    for (const key of Object.keys(file)) if (!known.has(key)) throw new ConfigError(`config file ${configFile}: unknown setting ${JSON.stringify(key)}`);
  }
  const result: Record<string, unknown> = { command };
  for (const spec of OPTIONS) {
    let value: unknown;
    if (flags.has(spec.name)) value = flags.get(spec.name);
    else if (env[envName(spec.name)] !== undefined) value = convert(spec, env[envName(spec.name)], `environment ${envName(spec.name)}`);
    else if (file[camel(spec.name)] !== undefined) value = convert(spec, file[camel(spec.name)], `config file ${configFile}: ${camel(spec.name)}`);
    else value = (spec.kind === 'addr' || spec.kind === 'listen') && spec.default !== undefined ? parseListenAddress(String(spec.default)) : spec.default;
    if (value === null) value = undefined; // a listener turned off
    if (value !== undefined) result[spec.key ?? camel(spec.name)] = value;
  }
  const config = result as unknown as Config;
  config.zones = [...new Set(config.zones)];
  if (config.kubeconfig && config.manifests) throw new ConfigError('--kubeconfig and --manifests are alternatives: give one source');
  for (const stub of config.stubDomains ?? []) {
    const { domain } = parseStubDomain(stub);
    const zone = config.zones.find((z) => domain === z || domain.endsWith(`.${z}`));
    if (zone) throw new ConfigError(`--stub-domain ${domain}: names in the cluster zone ${zone} are never forwarded`);
  }
  return config;
}

export function helpText(command: Command): string {
  const lines = OPTIONS.filter((o) => o.commands.includes(command)).map((o) => {
    const flag = `--${o.name}${o.kind === 'bool' ? '' : o.kind === 'enum' ? ` ${o.values!.join('|')}` : o.kind === 'listen' ? ' HOST:PORT|off' : ' VALUE'}`;
    const def = o.default !== undefined && o.default !== false ? ` (default ${Array.isArray(o.default) ? o.default.join(',') : o.default})` : '';
    return `  ${flag.padEnd(44)} ${o.help}${def}\n  ${''.padEnd(44)} env ${envName(o.name)}`;
  });
  return lines.join('\n');
}
