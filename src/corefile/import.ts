// `cluster-dns import-corefile`: turns a CoreDNS Corefile into the equivalent cluster-dns config file (the
// --config schema: camelCase keys of the flags). What CoreDNS would have done is the reference, so defaults that
// differ are written out (no `pods` line means CoreDNS serves no pod records; no `cache` means no caching; no
// `loadbalance` means a fixed record order). Everything that cannot be carried over is named, with its line.
// Over 300 lines: one translator, directive by directive, self-contained and off the serving path; split by
// directive, the shared defaults and notes would have to travel between files.
import yaml from 'js-yaml';
import { parseListenAddress } from '../config/config.js';
import { parseUpstream } from '../net/address.js';
import { CorefileError, parseCorefile, parseDuration, parseServerKey, type Directive, type ServerBlock, type ServerKey } from './parse.js';

export { CorefileError } from './parse.js';

export interface ImportResult {
  /** Settings in the --config schema, in a readable order. */
  config: Record<string, unknown>;
  /** One line per directive, or part of one, that cluster-dns does not carry over (with the reason). */
  notCarried: string[];
  /** `config` as the YAML file to give to --config, with a short header. */
  yaml: string;
}

/** Output order of the settings (also the order of docs/configuration.md, roughly). */
const ORDER = [
  'zone', 'dnsAddr', 'ttl', 'pods', 'endpointPodNames', 'ignoreEmptyService', 'syncTimeout',
  'fallthrough', 'noForward', 'upstream', 'resolvConf', 'stubDomain', 'policy', 'maxConcurrent', 'maxFails', 'healthCheckInterval',
  'cacheCapReplies', 'cacheTtl', 'cacheNegativeTtl', 'cacheServfailTtl', 'cacheMinTtl', 'noCacheSuccess', 'noCacheDenial', 'cacheSize', 'serveStale', 'serveStaleWindow',
  'loadbalance', 'logQueries', 'metricsAddr', 'healthAddr', 'readyAddr', 'lameduck',
];

// CoreDNS defaults that differ from cluster-dns's, or that the mapping needs (plugin READMEs, v1.14).
const COREDNS_CACHE = { successTtl: 3600, denialTtl: 1800, capacity: 9984 };
const COREDNS_PROMETHEUS = 'localhost:9153';
const COREDNS_HEALTH = ':8080';
const COREDNS_READY = ':8181';

const REASONS: Record<string, string> = {
  autopath: 'differs: --autopath refuses where it is unsure of the client (docs/dns-behaviour.md); set autopath: true to choose it',
  hosts: 'not supported: no static records',
  file: 'not supported: no zone files are served',
  auto: 'not supported: no zone files are served',
  secondary: 'not supported: no zone transfers',
  transfer: 'not supported: zone transfers are refused',
  rewrite: 'not supported: no query rewriting',
  template: 'not supported: no templated answers',
  dnssec: 'not supported: answers are not signed',
  sign: 'not supported: answers are not signed',
  acl: 'not supported: no access lists (use a NetworkPolicy)',
  k8s_external: 'not supported: no external (LoadBalancer) zone',
  etcd: 'not supported',
  whoami: 'not supported',
  chaos: 'not supported: CH TXT version.bind is not answered',
  any: 'not supported: ANY is answered as any other type',
  bufsize: 'not settable: cluster-dns advertises 1232 bytes',
  minimal: 'not supported: answers carry the usual sections',
  debug: 'not supported', pprof: 'not supported', trace: 'not supported', dnstap: 'not supported',
  cancel: 'not settable: each forwarded query gives up after max(--upstream-timeout, 5 s)',
  local: 'not supported: localhost names are forwarded like any other',
  nsid: 'not supported', metadata: 'not supported', view: 'not supported', timeouts: 'not settable',
  tls: 'not supported: DNS over TLS is not served', grpc: 'not supported: forwarding is over UDP/TCP only',
  root: 'not needed: no files are read', import: 'only snippets of the same file can be imported',
};

const zonesOf = (keys: ServerKey[]): string[] => keys.map((k) => k.zone);
const isReverse = (z: string): boolean => z === 'in-addr.arpa' || z === 'ip6.arpa' || z.endsWith('.in-addr.arpa') || z.endsWith('.ip6.arpa') || z.includes('/');
const seconds = (ms: number): number => Math.ceil(ms / 1000);

class Importer {
  readonly settings: Record<string, unknown> = {};
  readonly notCarried: string[] = [];
  private readonly stubs = new Map<string, string[]>();
  private mainCache: string | undefined;
  private mainLog = false;
  private mainBind: string | undefined;
  private globalForward = false;
  private mainZones: ServerKey[] = [];

  constructor(private readonly source: string) {}

  note(d: { line: number }, what: string, why: string): void {
    this.notCarried.push(`${this.source}:${d.line}: ${what}: ${why}`);
  }

  private set(key: string, value: unknown): void {
    this.settings[key] = value;
  }

  private int(d: Directive, text: string | undefined, min: number, max: number, what: string): number | undefined {
    const n = Number(text);
    if (text === undefined || !/^\d+$/.test(text) || n < min || n > max) {
      this.note(d, `${what} ${text ?? ''}`.trim(), `want an integer from ${min} to ${max}`);
      return undefined;
    }
    return n;
  }

  private durationMs(d: Directive, text: string | undefined, what: string): number | undefined {
    try {
      if (text === undefined) throw new CorefileError('missing duration');
      return parseDuration(text);
    } catch (err) {
      this.note(d, what, (err as Error).message);
      return undefined;
    }
  }

  private listen(d: Directive, key: string, addr: string): void {
    const normalized = addr.replace(/^(tcp|dns):\/\//, '');
    try {
      parseListenAddress(normalized, key);
      this.set(key, normalized);
    } catch (err) {
      this.note(d, `${d.name} ${addr}`, (err as Error).message);
    }
  }

  run(blocks: ServerBlock[]): void {
    const main = blocks.find((b) => b.directives.some((d) => d.name === 'kubernetes')) ?? blocks.find((b) => b.keys.some((k) => k.startsWith('.'))) ?? blocks[0];
    if (main === undefined) throw new CorefileError('no server blocks');
    const mainKeys = main.keys.map(parseServerKey);
    this.mainZones = mainKeys;
    const port = mainKeys[0]!.port;
    if (port !== 53) this.set('dnsAddr', `:${port}`);
    for (const k of mainKeys) if (k.scheme !== 'dns') this.note(main, `server block ${main.keys.join(' ')}`, `${k.scheme}:// listeners are not supported: cluster-dns serves plain DNS over UDP and TCP`);
    if (!main.directives.some((d) => d.name === 'kubernetes')) this.note(main, 'kubernetes', 'no kubernetes plugin in the Corefile: cluster-dns serves the cluster zone (cluster.local unless zone says otherwise) all the same');

    for (const d of main.directives) {
      if (d.name === 'forward') this.forward(d, mainKeys.map((k) => k.zone), true);
      else this.mainDirective(d);
    }
    if (!main.directives.some((d) => d.name === 'cache')) this.set('cacheTtl', 0);
    if (!main.directives.some((d) => d.name === 'loadbalance')) this.set('loadbalance', 'off');
    for (const [plugin, key, addr] of [['health', 'healthAddr', COREDNS_HEALTH], ['ready', 'readyAddr', COREDNS_READY], ['prometheus', 'metricsAddr', COREDNS_PROMETHEUS]] as const) {
      if (!main.directives.some((d) => d.name === plugin)) this.note(main, `(no ${plugin})`, `cluster-dns keeps its ${key} listener (default ${plugin === 'prometheus' ? ':9153' : addr}); the Deployment's probes and Prometheus use them`);
    }

    for (const block of blocks) {
      if (block === main) continue;
      const keys = block.keys.map(parseServerKey);
      const label = `server block ${block.keys.join(' ')}`;
      if (keys.some((k) => k.scheme !== 'dns' || k.port !== port)) {
        this.note(block, label, `cluster-dns listens on one address (port ${port}), plain DNS only`);
        continue;
      }
      if (!block.directives.some((d) => d.name === 'forward')) {
        this.note(block, label, 'only server blocks that forward (stub domains) can be');
        continue;
      }
      for (const d of block.directives) {
        if (d.name === 'forward') this.forward(d, keys.map((k) => k.zone), false);
        else if (d.name === 'errors' || d.name === 'loop') continue;
        else if (d.name === 'bind' && this.mainBind === d.args.join(' ')) continue; // the same address: one listener serves both
        else if (d.name === 'cache' && this.mainCache === [d.args, d.block?.map((s) => [s.name, ...s.args])].flat(2).join(' ')) continue;
        else if (d.name === 'log' && this.mainLog) continue;
        else this.note(d, `${label}: ${d.name}`, 'settings apply to every forwarded name, per-domain settings are not supported');
      }
    }
    if (this.stubs.size > 0) this.set('stubDomain', [...this.stubs].map(([domain, addrs]) => `${domain}=${addrs.join(',')}`));
    if (!this.globalForward && this.stubs.size === 0) this.set('noForward', true);
    else if (!this.globalForward) {
      this.note(main, '(no forward .)', 'stub domains need forwarding on, so cluster-dns also forwards every other name, to the nameservers of /etc/resolv.conf (CoreDNS answered them SERVFAIL)');
    }
  }

  private mainDirective(d: Directive): void {
    switch (d.name) {
      case 'kubernetes':
        return this.kubernetes(d, zonesOf(this.mainZones));
      case 'cache':
        return this.cache(d);
      case 'errors':
        if (d.block) this.note(d, 'errors { ... }', 'errors are logged one by one');
        return;
      case 'loop':
        return; // cluster-dns detects loops itself, and drops the looping upstream instead of exiting
      case 'reload':
        return; // cluster-dns reloads its --config file when it changes (a ConfigMap update included)
      case 'log':
        this.mainLog = true;
        this.set('logQueries', true);
        if (d.args.length > 0 || d.block) this.note(d, `log ${d.args.join(' ')}`.trim(), 'names, classes and formats are not carried over: every query is logged, in one format');
        return;
      case 'loadbalance':
        if (d.args.length === 0 || d.args[0] === 'round_robin') this.set('loadbalance', 'round_robin');
        else this.note(d, `loadbalance ${d.args.join(' ')}`, 'only round_robin is supported');
        return;
      case 'health': {
        this.listen(d, 'healthAddr', d.args[0] ?? COREDNS_HEALTH);
        let lameduck = 0;
        for (const s of d.block ?? []) {
          const ms = s.name === 'lameduck' ? this.durationMs(s, s.args[0], 'health lameduck') : undefined;
          if (s.name !== 'lameduck') this.note(s, `health ${s.name}`, 'not supported');
          else if (ms !== undefined) lameduck = Math.min(300, seconds(ms));
        }
        this.set('lameduck', lameduck);
        return;
      }
      case 'ready':
        return this.listen(d, 'readyAddr', d.args[0] ?? COREDNS_READY);
      case 'prometheus':
        return this.listen(d, 'metricsAddr', d.args[0] ?? COREDNS_PROMETHEUS);
      case 'bind': {
        this.mainBind = d.args.join(' ');
        const host = d.args[0];
        if (host === undefined || d.args.length > 1 || d.block) this.note(d, `bind ${d.args.join(' ')}`, 'cluster-dns listens on one address: the first is kept');
        if (host !== undefined) {
          const port = String(this.settings['dnsAddr'] ?? ':53').replace(/^.*:/, '');
          const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
          try {
            parseListenAddress(addr, 'bind');
            this.set('dnsAddr', addr);
          } catch {
            this.note(d, `bind ${host}`, 'want an IP address (interface names are not supported)');
          }
        }
        return;
      }
      default:
        this.note(d, d.name, REASONS[d.name] ?? 'not a plugin cluster-dns has');
    }
  }

  /** `blockZones`: the server block's, which CoreDNS uses when the directive names none. */
  private kubernetes(d: Directive, blockZones: string[]): void {
    const zones = (d.args.length > 0 ? d.args : blockZones).map((z) => (z === '.' ? '.' : z.toLowerCase().replace(/\.$/, '')));
    const cluster = zones.filter((z) => !isReverse(z) && z !== '.');
    const partialReverse = zones.filter((z) => isReverse(z) && z !== 'in-addr.arpa' && z !== 'ip6.arpa');
    if (partialReverse.length > 0) this.note(d, `kubernetes ${partialReverse.join(' ')}`, 'cluster-dns answers PTR for cluster addresses anywhere in in-addr.arpa and ip6.arpa, and forwards the rest');
    if (zones.includes('.')) this.note(d, 'kubernetes .', 'the root cannot be a cluster zone');
    if (cluster.length > 0) this.set('zone', cluster);
    this.set('ttl', 5);
    this.set('pods', 'disabled'); // CoreDNS's default when there is no `pods` line
    let fallthrough: string[] = [];
    for (const s of d.block ?? []) {
      const what = `kubernetes ${s.name}${s.args.length ? ` ${s.args.join(' ')}` : ''}`;
      switch (s.name) {
        case 'pods':
          if (s.args.length === 1 && ['disabled', 'insecure', 'verified'].includes(s.args[0]!)) this.set('pods', s.args[0]);
          else this.note(s, what, 'want disabled, insecure or verified');
          break;
        case 'endpoint_pod_names':
          this.set('endpointPodNames', true);
          break;
        case 'ttl': {
          const ttl = this.int(s, s.args[0], 0, 3600, 'kubernetes ttl');
          if (ttl !== undefined) this.set('ttl', ttl);
          break;
        }
        case 'ignore':
          if (s.args.length === 1 && s.args[0] === 'empty_service') this.set('ignoreEmptyService', true);
          else this.note(s, what, 'only empty_service can be ignored');
          break;
        case 'fallthrough':
          // No zones: every zone of the plugin, as in CoreDNS.
          fallthrough = s.args.length > 0 ? s.args.map((z) => z.toLowerCase().replace(/\.$/, '')) : zones.filter((z) => z !== '.');
          break;
        case 'startup_timeout': {
          const ms = this.durationMs(s, s.args[0], what);
          if (ms !== undefined) this.set('syncTimeout', Math.min(3600, seconds(ms)));
          break;
        }
        case 'kubeconfig':
        case 'endpoint':
        case 'tls':
          this.note(s, `kubernetes ${s.name}`, 'cluster-dns connects with its pod\'s service account (or --kubeconfig)');
          break;
        case 'upstream':
          break; // obsolete; CoreDNS ignores it too
        case 'noendpoints':
          this.note(s, what, 'not supported: endpoint records are always served');
          break;
        case 'namespaces':
        case 'labels':
        case 'namespace_labels':
          this.note(s, what, 'not supported: every namespace and object is served');
          break;
        default:
          this.note(s, what, 'not supported');
      }
    }
    this.set('fallthrough', fallthrough);
  }

  private cache(d: Directive): void {
    this.mainCache = [d.args, d.block?.map((s) => [s.name, ...s.args])].flat(2).join(' ');
    let successTtl = COREDNS_CACHE.successTtl;
    let denialTtl = COREDNS_CACHE.denialTtl;
    let capacity: { success?: number; denial?: number } = {};
    let minimum: number | undefined;
    const [ttlArg, ...zones] = d.args;
    if (ttlArg !== undefined && /^\d+$/.test(ttlArg)) successTtl = denialTtl = Number(ttlArg);
    else if (ttlArg !== undefined) zones.unshift(ttlArg);
    if (zones.length > 0 && !(zones.length === 1 && zones[0] === '.')) this.note(d, `cache ${zones.join(' ')}`, 'the cache is not limited to zones: it holds every forwarded answer');
    for (const s of d.block ?? []) {
      const what = `cache ${s.name}${s.args.length ? ` ${s.args.join(' ')}` : ''}`;
      switch (s.name) {
        case 'success':
        case 'denial': {
          const [cap, ttl, minTtl] = s.args;
          const n = this.int(s, cap, 1, 10_000_000, `cache ${s.name} capacity`);
          if (n !== undefined) capacity = { ...capacity, [s.name]: n };
          if (ttl !== undefined) {
            const t = this.int(s, ttl, 0, 86_400, `cache ${s.name} TTL`);
            if (t !== undefined && s.name === 'success') successTtl = t;
            else if (t !== undefined) denialTtl = t;
          }
          if (minTtl !== undefined) {
            const m = this.int(s, minTtl, 0, 3600, `cache ${s.name} minimum TTL`);
            if (m !== undefined && minimum !== undefined && m !== minimum) this.note(s, what, `one minimum TTL for both kinds: ${minimum} is kept`);
            else if (m !== undefined) minimum = m;
          }
          break;
        }
        case 'disable': {
          const [kind, ...only] = s.args;
          const zones = only.map((z) => z.toLowerCase().replace(/\.$/, ''));
          const clusterZones = (this.settings['zone'] as string[] | undefined) ?? ['cluster.local'];
          if (kind !== 'success' && kind !== 'denial') this.note(s, what, 'want disable success|denial');
          // Cluster answers are never cached here (they come from the live index): disabling the cache for the
          // cluster zones is what cluster-dns does anyway (kubeadm's own benchmarks Corefile does it).
          else if (zones.length > 0 && zones.every((z) => clusterZones.some((c) => z === c || z.endsWith(`.${c}`)))) break;
          else if (zones.length > 0 && !(zones.length === 1 && zones[0] === '')) {
            this.note(s, what, 'disable applies to every zone or to the cluster zones only (other per-zone exceptions are not supported)');
          } else this.set(kind === 'success' ? 'noCacheSuccess' : 'noCacheDenial', true);
          break;
        }
        case 'servfail': {
          const ms = this.durationMs(s, s.args[0], what);
          if (ms !== undefined) this.set('cacheServfailTtl', Math.min(300, seconds(ms)));
          break;
        }
        case 'serve_stale': {
          this.set('serveStale', true);
          if (s.args[0] !== undefined) {
            const ms = this.durationMs(s, s.args[0], what);
            if (ms !== undefined) this.set('serveStaleWindow', Math.max(1, Math.min(7 * 86_400, seconds(ms))));
          }
          if (s.args[1] === 'verify') this.note(s, what, 'verify is not supported: a stale answer is served when every upstream fails');
          break;
        }
        default:
          this.note(s, what, 'not supported');
      }
    }
    // CoreDNS's cache gives every reply it passes on one capped TTL, cluster answers included.
    this.set('cacheCapReplies', true);
    if (minimum !== undefined) this.set('cacheMinTtl', minimum);
    this.set('cacheTtl', Math.min(successTtl, 86_400));
    this.set('cacheNegativeTtl', Math.min(denialTtl, 86_400));
    if (capacity.success !== undefined || capacity.denial !== undefined) {
      const size = (capacity.success ?? COREDNS_CACHE.capacity) + (capacity.denial ?? COREDNS_CACHE.capacity);
      this.set('cacheSize', size);
      this.note(d, 'cache success/denial capacity', `cluster-dns has one cache for both kinds: cacheSize ${size} (their sum)`);
    }
  }

  /** Upstreams for `.` or stub domains. `global`: the directive is in the main server block. */
  private forward(d: Directive, blockZones: string[], global: boolean): void {
    const [fromRaw, ...to] = d.args;
    if (fromRaw === undefined || to.length === 0) {
      this.note(d, `forward ${d.args.join(' ')}`, 'want FROM TO...');
      return;
    }
    const from = fromRaw === '.' ? '.' : fromRaw.toLowerCase().replace(/\.$/, '');
    const addresses: string[] = [];
    const files: string[] = [];
    for (const t of to) {
      if (/^[a-z]+:\/\//i.test(t) && !t.startsWith('dns://')) {
        this.note(d, `forward ${from} ${t}`, 'only plain DNS upstreams are supported');
        continue;
      }
      const addr = t.replace(/^dns:\/\//, '');
      try {
        parseUpstream(addr, 'forward');
        addresses.push(addr);
      } catch {
        files.push(addr);
      }
    }
    for (const zone of blockZones) {
      const domain = from === '.' ? zone : zone === '.' ? from : from === zone || from.endsWith(`.${zone}`) ? from : undefined;
      if (domain === undefined) {
        this.note(d, `forward ${from}`, `${from} is outside the server block's zone ${zone}`);
        continue;
      }
      if (domain === '.') {
        if (addresses.length > 0 || files.length > 0) this.globalForward = true;
        if (addresses.length > 0) {
          this.set('upstream', addresses);
          if (files.length > 0) this.note(d, `forward . ${files.join(' ')}`, 'upstreams are either addresses or one resolv.conf: the addresses are kept');
        } else if (files.length > 0) {
          this.set('resolvConf', files[0]);
          if (files.length > 1) this.note(d, `forward . ${files.slice(1).join(' ')}`, 'one resolv.conf only: the first is kept');
        }
      } else if (addresses.length > 0) {
        this.stubs.set(domain, [...(this.stubs.get(domain) ?? []), ...addresses]);
        if (files.length > 0) this.note(d, `forward ${domain} ${files.join(' ')}`, 'a stub domain takes addresses, not a resolv.conf');
      } else {
        this.note(d, `forward ${domain} ${files.join(' ')}`, 'a stub domain takes addresses, not a resolv.conf');
      }
    }
    for (const s of d.block ?? []) this.forwardOption(s, global);
  }

  private forwardOption(s: Directive, global: boolean): void {
    const what = `forward ${s.name}${s.args.length ? ` ${s.args.join(' ')}` : ''}`;
    if (!global) {
      this.note(s, what, 'per-domain forward options are not supported: the main block\'s apply to every upstream');
      return;
    }
    switch (s.name) {
      case 'max_concurrent': {
        const n = this.int(s, s.args[0], 1, 1_000_000, 'forward max_concurrent');
        if (n !== undefined) this.set('maxConcurrent', n);
        break;
      }
      case 'policy':
        if (['random', 'round_robin', 'sequential'].includes(s.args[0] ?? '')) this.set('policy', s.args[0]);
        else this.note(s, what, 'want random, round_robin or sequential');
        break;
      case 'max_fails': {
        if (s.args[0] === '0') this.note(s, what, 'an upstream is always marked down after --max-fails failures (1 or more)');
        else {
          const n = this.int(s, s.args[0], 1, 1000, 'forward max_fails');
          if (n !== undefined) this.set('maxFails', n);
        }
        break;
      }
      case 'health_check': {
        const ms = this.durationMs(s, s.args[0], what);
        if (ms !== undefined) this.set('healthCheckInterval', Math.max(50, Math.min(60_000, Math.round(ms))));
        if (s.args.length > 1) this.note(s, what, `${s.args.slice(1).join(' ')} is not supported: health checks ask . NS with RD set`);
        break;
      }
      case 'expire':
        this.note(s, what, 'not settable: connections to upstreams are kept open');
        break;
      case 'force_tcp':
      case 'prefer_udp':
        this.note(s, what, 'not supported: queries go over UDP, and over TCP when truncated');
        break;
      case 'except':
        this.note(s, what, 'not supported: every name outside the cluster zones is forwarded');
        break;
      default:
        this.note(s, what, 'not supported');
    }
  }
}

export function importCorefile(text: string, source = 'Corefile'): ImportResult {
  const importer = new Importer(source);
  importer.run(parseCorefile(text));
  const config: Record<string, unknown> = {};
  for (const key of ORDER) if (importer.settings[key] !== undefined) config[key] = importer.settings[key];
  const header = [
    `# cluster-dns configuration (the --config file), imported from ${source} by \`cluster-dns import-corefile\`.`,
    importer.notCarried.length > 0
      ? `# ${importer.notCarried.length} directive(s) or option(s) could not be carried over; they were listed on stderr.`
      : '# Every directive was carried over.',
  ];
  return { config, notCarried: importer.notCarried, yaml: `${header.join('\n')}\n${yaml.dump(config, { lineWidth: -1 })}` };
}
