// The one options table: every setting of every command, its kind, default, bounds and help. `Config`, the
// parsed settings, is derived from it by type (so an option cannot be added without its type) and so is each
// component's own options type (a Pick of the settings it reads). --help and docs/configuration.md are
// rendered from this table too. One entry per option, one line each, kept in one place on purpose.
import type { ListenAddress, StubDomain, UpstreamAddress } from '../net/address.js';

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
  /** In docs/configuration.md: the value's placeholder (`FILE`, `MS`), the default when its value says too little, and the
   * full explanation when --help's one line is not all there is to say. */
  arg?: string;
  defaultText?: string;
  doc?: string;
}

export type Command = 'serve' | 'zone' | 'webhook' | 'env' | 'certs';

export const OPTIONS = [
  { name: 'config', kind: 'string', help: 'YAML file with any of these settings (keys in camelCase)', arg: "FILE", doc: "YAML file with any of these settings", commands: ['serve', 'zone', 'webhook'] },
  { name: 'kubeconfig', kind: 'string', help: 'kubeconfig file; default: in-cluster config, then $KUBECONFIG, then ~/.kube/config', arg: "PATH", defaultText: "in-cluster, then `$KUBECONFIG`, then `~/.kube/config`", doc: "API server connection", commands: ['serve', 'zone', 'webhook', 'env', 'certs'] },
  { name: 'service-account-dir', kind: 'string', default: '/var/run/secrets/kubernetes.io/serviceaccount', help: 'in-cluster credentials folder (token, ca.crt), used without --kubeconfig when KUBERNETES_SERVICE_HOST is set; the token is re-read for every request', arg: "PATH", doc: "in-cluster credentials: used when no `--kubeconfig` is given, `KUBERNETES_SERVICE_HOST`/`_PORT` are set and this folder has a `token`; `token` and `ca.crt` are read again for every API request, so a token the kubelet rotates is used from the next request on", commands: ['serve', 'zone'] },
  { name: 'api-encoding', kind: 'enum', default: 'protobuf', values: ['protobuf', 'json'], help: 'how lists and watches are read from the API server: protobuf (as client-go; JSON where the API server has no protobuf) or json', arg: "ENC", doc: "`protobuf`: ask for `application/vnd.kubernetes.protobuf` as client-go and CoreDNS do, and read JSON where the API server answers JSON (a 406 turns protobuf off for that watch); decoded straight into the few fields DNS reads, so a first sync is faster and lighter than with JSON; `json`: JSON only. See [Kubernetes API](kubernetes-api.md)", commands: ['serve', 'zone', 'webhook', 'env'] },
  { name: 'api-initial-list', kind: 'enum', default: 'stream', values: ['stream', 'pages'], help: 'how the full set of each kind is read: stream (a watch\'s initial events, as client-go 1.35) or pages (list, then watch)', arg: "HOW", doc: "`stream`: the full set of each kind as a watch's initial events (`sendInitialEvents=true`, as client-go's reflector does since Kubernetes 1.35): one stream from the API server's watch cache, no page round trips, and the connection watches on; an API server that refuses or ignores it is listed in pages instead (logged once); `pages`: `limit=500` list pages, then a watch. See [Kubernetes API](kubernetes-api.md)", commands: ['serve', 'zone', 'webhook', 'env'] },
  { name: 'manifests', kind: 'string', help: 'serve objects from a YAML/JSON file or folder instead of the API server (watched for changes)', arg: "PATH", doc: "serve v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Namespace, v1 Pod objects from a YAML/JSON file (multi-document or `kind: List`) or a folder of them instead of the API server; other kinds are ignored with a warning; a namespace referenced by any object counts as existing; the files are watched and reloaded", commands: ['serve', 'zone', 'webhook', 'env'] },
  { name: 'zone', key: 'zones', kind: 'list', item: 'zone', default: ['cluster.local'], help: 'cluster zone (repeatable; the first is primary). in-addr.arpa and ip6.arpa are always served', arg: "NAME", doc: "cluster zones; the first is primary (PTR targets). `in-addr.arpa` and `ip6.arpa` are always served", commands: ['serve', 'zone'] },
  { name: 'dns-addr', kind: 'addr', default: ':53', help: 'UDP and TCP listen address HOST:PORT; an empty host means every IPv4 and IPv6 address', arg: "HOST:PORT", doc: "UDP and TCP listen address; an empty host is every IPv4 and IPv6 address (one dual-stack socket)", commands: ['serve'] },
  { name: 'ttl', kind: 'int', default: 5, min: 0, max: 3600, help: 'TTL of cluster records, seconds (CoreDNS default)', arg: "N", doc: "TTL of cluster records, 0–3600. CoreDNS's own default; kubeadm's `ttl 30` trades freshness for a load this server does not need, and stale answers after a Service is recreated are a top complaint", commands: ['serve', 'zone'] },
  { name: 'pods', kind: 'enum', default: 'insecure', values: ['disabled', 'insecure', 'verified'], help: 'answer <a-b-c-d>.<ns>.pod.<zone>: disabled, insecure (any IP), verified (a pod has it; watches Pods)', arg: "MODE", doc: "`<a-b-c-d>.<ns>.pod.<zone>` records: `disabled`, `insecure` (echo any IP, as kubeadm deploys CoreDNS), `verified` (only IPs of live pods in that namespace; watches Pods)", commands: ['serve', 'zone'] },
  { name: 'autopath', kind: 'bool', default: false, help: 'finish a pod\'s search path on the server: <name>.<ns>.svc.<zone> that does not exist is answered with a CNAME to the first of <name>.svc.<zone>, <name>.<zone>, <name> that does (watches Pods)', doc: "server-side search path: a query for `<name>.<ns>.svc.<zone>` that does not exist, from a pod of `<ns>` known for sure by its address, is answered with a CNAME to the first of `<name>.svc.<zone>`, `<name>.<zone>`, `<name>` that exists and its records (one round trip instead of up to four). Anything less than sure answers as without it; see [DNS behaviour](dns-behaviour.md#server-side-search-path---autopath). Watches Pods", commands: ['serve'] },
  { name: 'autopath-reuse-window', kind: 'int', default: 300, min: 0, max: 86_400, help: 'seconds an address that held another pod is not trusted for --autopath', arg: "S", doc: "an address that held more than one pod within this long is ambiguous and gets no autopath", commands: ['serve'] },
  { name: 'autopath-max-lag', kind: 'int', default: 10, min: 1, max: 3600, help: 'seconds the Pod watch may be behind the API server before --autopath is off for everyone', arg: "S", doc: "a Pod watch further behind the API server than this (measured on each event) turns autopath off for every client; pods younger than the lag are never trusted", commands: ['serve'] },
  { name: 'endpoint-pod-names', kind: 'bool', default: false, help: 'name endpoints without a hostname after their pod instead of their dashed IP', doc: "endpoints without a hostname are named after their pod instead of their dashed IP", commands: ['serve', 'zone'] },
  { name: 'ignore-empty-service', kind: 'bool', default: false, help: 'NXDOMAIN for ClusterIP services without ready endpoints', commands: ['serve', 'zone'] },
  { name: 'fallthrough', kind: 'list', item: 'zone', default: ['in-addr.arpa', 'ip6.arpa'], help: 'zones whose NXDOMAIN answers go to the upstreams instead (CoreDNS kubernetes fallthrough; repeatable)', arg: "ZONE", doc: "zones whose would-be NXDOMAIN answers are forwarded instead (CoreDNS `kubernetes` `fallthrough`); kubeadm's are the two reverse zones, so PTR lookups of outside addresses go upstream. Empty (`fallthrough: []` in the config file): those are NXDOMAIN", commands: ['serve'] },
  { name: 'no-forward', kind: 'bool', default: false, help: 'answer REFUSED for names outside the served zones instead of forwarding', doc: "names outside the zones get REFUSED instead of being forwarded", commands: ['serve'] },
  { name: 'upstream', key: 'upstreams', kind: 'list', item: 'upstream', default: [], help: 'forward names outside the zones to this server, ADDR[:PORT] (repeatable); default: the nameservers of --resolv-conf', arg: "ADDR[:PORT]", defaultText: "the `nameserver` lines of `--resolv-conf`", doc: "where forwarded queries go (`10.0.0.1`, `10.0.0.1:5353`, `[fd00::1]:53`)", commands: ['serve'] },
  { name: 'resolv-conf', kind: 'string', default: '/etc/resolv.conf', help: 'where to read upstream nameservers when no --upstream is given', arg: "PATH", doc: "upstreams when no `--upstream` is given; if it lists only loopback resolvers, `/run/systemd/resolve/resolv.conf` is used when it has real ones", commands: ['serve'] },
  { name: 'stub-domain', key: 'stubDomains', kind: 'list', item: 'stub', default: [], help: 'send a domain to its own servers, DOMAIN=ADDR[:PORT][,ADDR...] (repeatable)', arg: "DOMAIN=ADDR[:PORT][,ADDR…]", doc: "send a domain to its own servers (kube-dns `stubDomains`); never a name in a cluster zone", commands: ['serve'] },
  { name: 'policy', kind: 'enum', default: 'random', values: ['random', 'round_robin', 'sequential'], help: 'order in which upstreams are tried', arg: "P", doc: "upstream order: `random`, `round_robin`, `sequential`", commands: ['serve'] },
  { name: 'upstream-timeout', kind: 'int', default: 2000, min: 10, max: 60_000, help: 'milliseconds to wait for one upstream before trying the next', arg: "MS", doc: "wait for one upstream before trying the next (a closed port fails over at once); a query gives up after max(this, 5 s)", commands: ['serve'] },
  { name: 'max-concurrent', kind: 'int', default: 1000, min: 1, max: 1_000_000, help: 'upstream queries in flight at once; more are answered REFUSED', arg: "N", doc: "upstream queries in flight; beyond it REFUSED (CoreDNS `max_concurrent`)", commands: ['serve'] },
  { name: 'max-fails', kind: 'int', default: 2, min: 1, max: 1000, help: 'consecutive failures that mark an upstream down until a health check succeeds', arg: "N", doc: "consecutive failures that mark an upstream down until a health check gets an answer", commands: ['serve'] },
  { name: 'health-check-interval', kind: 'int', default: 500, min: 50, max: 60_000, help: 'milliseconds between health checks of a down upstream', arg: "MS", doc: "between health checks (`. NS`) of a down upstream", commands: ['serve'] },
  { name: 'cache-ttl', kind: 'int', default: 30, min: 0, max: 86_400, help: 'longest time, seconds, a forwarded answer is cached (0: no cache)', arg: "S", doc: "longest life of a cached answer (the record TTL if smaller); 0 disables caching", commands: ['serve'] },
  { name: 'cache-negative-ttl', kind: 'int', default: 30, min: 0, max: 86_400, help: 'longest time, seconds, an NXDOMAIN/NODATA answer is cached', arg: "S", doc: "longest life of a cached NXDOMAIN/NODATA (the SOA's TTL and minimum if smaller)", commands: ['serve'] },
  { name: 'cache-servfail-ttl', kind: 'int', default: 5, min: 0, max: 300, help: "seconds an upstream's SERVFAIL is answered from the cache (CoreDNS cache `servfail`); a lookup no upstream answered is never cached", arg: "S", doc: "an upstream's SERVFAIL is answered from the cache this long (CoreDNS `cache` `servfail`); a lookup that no upstream answered is not cached, so answers return as soon as an upstream does", commands: ['serve'] },
  { name: 'cache-cap-replies', kind: 'bool', default: false, help: 'as CoreDNS\'s cache plugin: every reply, cluster answers included, gets one TTL on all its records, its smallest, within --cache-min-ttl and --cache-ttl (--cache-negative-ttl for NXDOMAIN/NODATA)', doc: "as CoreDNS's `cache` plugin does to every reply it passes on: one TTL on every record, the reply's smallest capped at `--cache-ttl` (`--cache-negative-ttl` for NXDOMAIN/NODATA, `--cache-servfail-ttl` for SERVFAIL) and raised to `--cache-min-ttl`; cluster answers included (`import-corefile` sets it when the Corefile has `cache`)", commands: ['serve'] },
  { name: 'cache-min-ttl', kind: 'int', default: 5, min: 0, max: 3600, help: 'with --cache-cap-replies: the smallest TTL a reply gets (CoreDNS cache MINTTL)', arg: "S", doc: "with `--cache-cap-replies`, the smallest TTL a reply gets (CoreDNS `cache` `success`/`denial` MINTTL, 5 by default)", commands: ['serve'] },
  { name: 'no-cache-success', kind: 'bool', default: false, help: 'never store positive forwarded answers (CoreDNS cache disable success)', doc: "positive forwarded answers are never stored (CoreDNS `disable success`); TTLs are still capped", commands: ['serve'] },
  { name: 'no-cache-denial', kind: 'bool', default: false, help: 'never store NXDOMAIN/NODATA forwarded answers (CoreDNS cache disable denial)', doc: "NXDOMAIN/NODATA forwarded answers are never stored (CoreDNS `disable denial`); TTLs are still capped", commands: ['serve'] },
  { name: 'cache-size', kind: 'int', default: 10_000, min: 1, max: 10_000_000, help: 'cached answers, at most', arg: "N", doc: "cached answers at most", commands: ['serve'] },
  { name: 'cache-max-bytes', kind: 'int', default: 64 * 1024 * 1024, min: 1024, max: 4 * 1024 * 1024 * 1024, help: 'approximate memory of cached answers, at most', arg: "N", doc: "approximate memory of cached answers at most", commands: ['serve'] },
  { name: 'serve-stale', kind: 'bool', default: false, help: 'when every upstream fails, answer from expired cache entries (RFC 8767), with TTL 30', doc: "when every upstream fails, answer from expired entries with TTL 30 (RFC 8767)", commands: ['serve'] },
  { name: 'serve-stale-window', kind: 'int', default: 3600, min: 1, max: 7 * 86_400, help: 'seconds past expiry an entry may be served stale', arg: "S", doc: "how long past expiry an entry may be served stale", commands: ['serve'] },
  { name: 'tcp-idle-timeout', kind: 'int', default: 10, min: 1, max: 3600, help: 'seconds an idle TCP connection is kept', arg: "S", doc: "an idle TCP connection is closed after this", commands: ['serve'] },
  { name: 'tcp-max-connections', kind: 'int', default: 1000, min: 1, max: 1_000_000, help: 'TCP connections accepted at once; more are closed', arg: "N", commands: ['serve'] },
  { name: 'tcp-max-queued-bytes', kind: 'int', default: 256 * 1024, min: 65_536, max: 64 * 1024 * 1024, help: 'reply bytes one TCP connection may have waiting unread before we stop reading from it', arg: "N", doc: "reply bytes one TCP connection may have waiting (the client is not reading) before we stop reading its queries; it resumes when they drain, is closed by `--tcp-idle-timeout` if they never do, and at once past four times this. At least one largest reply (64 KiB); see [reliability.md](reliability.md)", commands: ['serve'] },
  { name: 'max-queued-bytes', kind: 'int', default: 16 * 1024 * 1024, min: 1024 * 1024, max: 4 * 1024 * 1024 * 1024, help: 'reply bytes waiting unread on all connections and UDP sockets together, at most', arg: "N", doc: "reply bytes waiting on all TCP connections together (and incomplete TCP messages): past it, connections that are behind stop being read and a new incomplete message closes its connection; a UDP socket whose send queue is past it drops replies. The memory bound in [reliability.md](reliability.md) follows from it", commands: ['serve'] },
  { name: 'max-in-flight', kind: 'int', default: 10_000, min: 1, max: 1_000_000, help: 'queries waiting on another server at once (forwarded, coalesced, ExternalName); more are answered REFUSED', arg: "N", doc: "queries waiting on another server at once, counting those coalesced onto one upstream query (which `--max-concurrent` does not); more are answered REFUSED at once", commands: ['serve'] },
  { name: 'sync-timeout', kind: 'int', default: 5, min: 0, max: 3600, help: 'seconds to wait for the first sync before listening (CoreDNS startup_timeout); queries are then SERVFAIL instead of NXDOMAIN until synced', arg: "S", doc: "seconds to wait for the first full sync before listening (CoreDNS `startup_timeout`); until synced, would-be NXDOMAIN answers are SERVFAIL (with EDE \"Not Ready\" under EDNS)", commands: ['serve'] },
  { name: 'origin', kind: 'string', help: 'the served zone to print (a cluster zone, in-addr.arpa or ip6.arpa); default: the primary zone', arg: "NAME", defaultText: "the primary zone", doc: "which served zone `cluster-dns zone` prints", commands: ['zone'] },
  { name: 'metrics-addr', kind: 'listen', default: ':9153', help: 'Prometheus /metrics listener HOST:PORT (CoreDNS prometheus :9153); off disables it', commands: ['serve'] },
  { name: 'health-addr', kind: 'listen', default: ':8080', help: 'liveness /health listener HOST:PORT (CoreDNS health :8080); off disables it', commands: ['serve'] },
  { name: 'ready-addr', kind: 'listen', default: ':8181', help: 'readiness /ready listener HOST:PORT (CoreDNS ready :8181); off disables it', commands: ['serve'] },
  { name: 'lameduck', kind: 'int', default: 5, min: 0, max: 300, help: 'seconds to keep answering after SIGTERM, unready, before closing (CoreDNS health lameduck 5s)', arg: "S", doc: "seconds to keep answering, unready, after SIGTERM", commands: ['serve'] },
  { name: 'loadbalance', kind: 'enum', default: 'round_robin', values: ['round_robin', 'off'], help: 'shuffle the order of A/AAAA records in each answer (CoreDNS loadbalance)', arg: "MODE", doc: "shuffle A/AAAA records per answer; `off`", commands: ['serve'] },
  { name: 'log-queries', kind: 'bool', default: false, help: 'log one line per query: client, name, type, rcode, duration (CoreDNS log)', doc: "one log line per query", commands: ['serve'] },
  { name: 'debug-records', kind: 'bool', default: false, help: 'serve GET /records?name=... on the metrics listener, to loopback clients: what the index holds for a name, and why', doc: "`GET /records?name=…` on the metrics listener, loopback clients only", commands: ['serve'] },
  { name: 'log-level', kind: 'enum', default: 'info', values: ['debug', 'info', 'warn', 'error'], help: 'lowest level logged (JSON lines on stderr)', arg: "LEVEL", doc: "`debug`, `info`, `warn`, `error`; JSON lines on stderr", commands: ['serve', 'zone', 'webhook', 'env'] },
  // env-var injector (webhook, env, certs)
  { name: 'listen', key: 'webhookAddr', kind: 'addr', default: ':8443', help: 'HTTPS listen address HOST:PORT of the webhook (POST /mutate, GET /healthz, /readyz)', arg: "HOST:PORT", doc: "HTTPS address of the webhook: `POST /mutate`, `GET /healthz`, `GET /readyz`", commands: ['webhook'] },
  { name: 'tls-cert', kind: 'string', help: 'serving certificate (PEM, chain allowed) of the webhook; reloaded when the file changes', arg: "FILE", defaultText: "(required)", doc: "serving certificate (chain allowed), PEM; re-read when it changes (a rotated Secret), used once it and `--tls-key` load as a pair", commands: ['webhook'] },
  { name: 'tls-key', kind: 'string', help: 'private key (PEM) of --tls-cert; reloaded when the file changes', arg: "FILE", defaultText: "(required)", doc: "private key of `--tls-cert`, PEM; re-read when it changes, used once the two load as a pair", commands: ['webhook'] },
  { name: 'own-namespace', kind: 'string', help: "the webhook's own namespace, never mutated (as kube-system); default: the service account's namespace when in a cluster", arg: "NS", defaultText: "the service account's namespace in a cluster", doc: "never mutated, like `kube-system`", commands: ['webhook'] },
  { name: 'max-env-bytes', kind: 'int', default: 32_768, min: 0, max: 16 * 1024 * 1024, help: 'inject no service variables into a pod when they would take more bytes than this (NAME=VALUE and a NUL each); an admission warning says so', arg: "N", doc: "a pod whose service variables take more (`NAME=VALUE` plus a NUL each) gets none, and an admission warning", commands: ['webhook', 'env'] },
  { name: 'service-links', kind: 'enum', default: 'pod', values: ['pod', 'always'], help: "whose Services a pod gets: pod (as the kubelet: its namespace's only when enableServiceLinks is true) or always (its namespace's whatever enableServiceLinks says, so the kubelet's copy can be turned off with enableServiceLinks: false)", arg: "MODE", doc: "`pod`: as the kubelet, the namespace's Services only when the pod's `enableServiceLinks` is true (the `kubernetes` Service always); `always`: the namespace's Services whatever `enableServiceLinks` says, so a cluster can set it to false (the kubelet then stops making its own copy) and keep the variables, fixed at admission", commands: ['webhook', 'env'] },
  { name: 'env-from-containers', kind: 'enum', default: 'skip', values: ['skip', 'inject'], help: 'containers with envFrom: skip (leave their service variables to the kubelet, which ranks envFrom above them) or inject (an env entry outranks envFrom)', arg: "MODE", doc: "containers with `envFrom`: `skip` (left to the kubelet) or `inject`", commands: ['webhook', 'env'] },
  { name: 'namespace', kind: 'string', help: "the new pod's namespace; default: the --pod file's, else default", arg: "NS", defaultText: "the `--pod` file's, else `default`", doc: "the new pod's namespace", commands: ['env'] },
  { name: 'pod', kind: 'string', help: 'a Pod manifest (YAML/JSON): print what each of its containers would get, after its own env, annotations and enableServiceLinks', arg: "FILE", doc: "a Pod manifest: print per container, after its own `env`, annotations and `enableServiceLinks`", commands: ['env'] },
  { name: 'no-service-links', kind: 'bool', default: false, help: 'as enableServiceLinks: false (only the kubernetes service of default)', doc: "as `enableServiceLinks: false`", commands: ['env'] },
  { name: 'out', kind: 'string', help: 'folder for ca.crt, ca.key, tls.crt, tls.key; an existing ca.crt/ca.key pair there is reused, so the caBundle stays valid', arg: "DIR", defaultText: "(required)", doc: "where `ca.crt`, `ca.key`, `tls.crt`, `tls.key` go; a CA already there is reused", commands: ['certs'] },
  { name: 'hosts', kind: 'string', default: 'cluster-dns-webhook.cluster-dns.svc', help: 'comma-separated DNS names and IP addresses the serving certificate is valid for', arg: "LIST", doc: "comma-separated DNS names and IP addresses of the serving certificate (its SANs)", commands: ['certs'] },
  { name: 'valid-days', kind: 'int', default: 365, min: 1, max: 3650, help: 'validity of the serving certificate, days (a new CA is valid 10 years)', arg: "N", doc: "validity of the serving certificate (a new CA: 10 years)", commands: ['certs'] },
  { name: 'patch-webhook', kind: 'string', help: "set caBundle of every webhook of this MutatingWebhookConfiguration to the CA, through --kubeconfig (from the user's machine: the webhook needs no write access)", arg: "NAME", doc: "set `caBundle` of every webhook of this MutatingWebhookConfiguration, through `--kubeconfig`", commands: ['certs'] },
] as const satisfies readonly OptionSpec[];

type Spec = (typeof OPTIONS)[number];
type Camel<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<Camel<B>>}` : S;
/** The Config property of an option: its `key`, else its camelCase name. */
type KeyOf<S extends Spec> = S extends { key: infer K extends string } ? K : Camel<S['name']>;
/** What an option holds once parsed. */
type ValueOf<S extends Spec> = S extends { kind: 'int' }
  ? number
  : S extends { kind: 'bool' }
    ? boolean
    : S extends { kind: 'string' }
      ? string
      : S extends { kind: 'enum'; values: readonly (infer V)[] }
        ? V
        : S extends { kind: 'addr' }
          ? ListenAddress
          : S extends { kind: 'listen' }
            ? ListenAddress | undefined // undefined: the listener is off
            : S extends { item: 'upstream' }
              ? UpstreamAddress[]
              : S extends { item: 'stub' }
                ? StubDomain[]
                : string[];
type WithDefault = Extract<Spec, { default: unknown }>;
type WithoutDefault = Exclude<Spec, { default: unknown }>;

/** Every setting, parsed. Options with a default are always set; the others are optional. */
export type Config = { command: Command } & { -readonly [S in WithDefault as KeyOf<S>]: ValueOf<S> } & { -readonly [S in WithoutDefault as KeyOf<S>]?: ValueOf<S> };
