// The kubelet's service environment variables (KUBIA_SERVICE_HOST, KUBIA_PORT_80_TCP_ADDR, ...), as a pure
// function of the cluster's Services. Rules of Kubernetes v1.35.4: pkg/kubelet/kubelet_pods.go
// getServiceEnvVarMap (which services) and pkg/kubelet/envvars/envvars.go FromServices (names and values);
// docs/webhook.md (What a pod gets) has them with their sources. test/integration/kubelet-envvars.test.ts compares this
// module with the kubelet's own code over randomised service sets.
import type { ServiceInfo } from '../cluster/objects.js';

export interface EnvVar {
  name: string;
  value: string;
}

/** The service the kubelet always publishes, from this namespace, even with enableServiceLinks: false. */
const MASTER_NAMESPACE = 'default';
const MASTER_SERVICE = 'kubernetes';

/**
 * Upper-cases as Go's strings.ToUpper does (one code point to one code point: `ß` stays, where JavaScript's
 * toUpperCase would write `SS`) after turning every `-` into `_`. No other change: a name starting with a digit
 * keeps it, as the kubelet does.
 */
export function envVarName(text: string): string {
  let out = '';
  for (const ch of text.replaceAll('-', '_')) {
    const upper = ch.toUpperCase();
    out += [...upper].length === 1 ? upper : ch;
  }
  return out;
}

/** The kubelet's test for "has a cluster IP": spec.clusterIP is neither empty nor "None" (headless, ExternalName). */
export const hasClusterIP = (s: ServiceInfo): boolean => s.rawClusterIP !== '' && s.rawClusterIP !== 'None';

/** Go's net.JoinHostPort: brackets around any host containing a colon (IPv6). */
const joinHostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * One service's variables in the order the kubelet builds them: _SERVICE_HOST, _SERVICE_PORT (first port),
 * _SERVICE_PORT_<NAME> per named port, _PORT (first port), then per port _PORT_<n>_<PROTO> and its _PROTO, _PORT
 * and _ADDR. Values use spec.clusterIP raw and the service `port` (never targetPort or nodePort).
 *
 * A service with a cluster IP and no ports cannot pass API validation (the kubelet would index ports[0] and
 * panic); one from --manifests yields nothing.
 */
export function serviceVars(service: ServiceInfo): EnvVar[] {
  const ports = service.ports.filter((p) => p.port >= 0); // drop the DNS code's "no ports" sentinel
  if (!hasClusterIP(service) || ports.length === 0) return [];
  const ip = service.rawClusterIP;
  const prefix = envVarName(service.name);
  const first = ports[0]!;
  // Protocols arrive lower-cased (kube/convert.ts; empty means TCP there as in the kubelet), port names too: the
  // API only admits lower-case port names and upper-case protocols, so nothing the kubelet would see is lost.
  const url = (p: { protocol: string; port: number }): string => `${p.protocol}://${joinHostPort(ip, p.port)}`;
  const out: EnvVar[] = [
    { name: `${prefix}_SERVICE_HOST`, value: ip },
    { name: `${prefix}_SERVICE_PORT`, value: String(first.port) },
  ];
  for (const p of ports) if (p.name !== '') out.push({ name: `${prefix}_SERVICE_PORT_${envVarName(p.name)}`, value: String(p.port) });
  out.push({ name: `${prefix}_PORT`, value: url(first) });
  for (const p of ports) {
    const portPrefix = `${prefix}_PORT_${p.port}_${envVarName(p.protocol)}`;
    out.push(
      { name: portPrefix, value: url(p) },
      { name: `${portPrefix}_PROTO`, value: p.protocol },
      { name: `${portPrefix}_PORT`, value: String(p.port) },
      { name: `${portPrefix}_ADDR`, value: ip },
    );
  }
  return out;
}

export interface PodScope {
  /** The pod's namespace. */
  namespace: string;
  /** pod.spec.enableServiceLinks; the API defaults it to true. */
  enableServiceLinks: boolean;
}

/**
 * The services whose variables a pod gets, as the kubelet picks them: those with a cluster IP in the pod's
 * namespace when links are enabled, and the `kubernetes` service of `default` always — unless links are enabled
 * and the pod's own namespace has a `kubernetes` service, which then replaces it. Sorted by name, so the result
 * (and the patch built from it) does not depend on watch order; the kubelet's own order is Go map order, random.
 */
export function servicesForPod(services: Iterable<ServiceInfo>, pod: PodScope): ServiceInfo[] {
  const byName = new Map<string, ServiceInfo>();
  for (const s of services) {
    if (!hasClusterIP(s)) continue;
    if (s.namespace === pod.namespace && pod.enableServiceLinks) byName.set(s.name, s);
    else if (s.namespace === MASTER_NAMESPACE && s.name === MASTER_SERVICE && !byName.has(s.name)) byName.set(s.name, s);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The variables a new pod in `pod.namespace` gets, services in name order and each service's variables in the
 * kubelet's order, every name once. Two services can produce the same name (`foo` and `foo-service` both make
 * FOO_SERVICE_PORT); the kubelet then keeps whichever its map iteration sees last, at random. Here the first
 * service in name order keeps it — the shorter name, whose own FOO_SERVICE_PORT is a port number rather than a
 * URL. Within one service a repeated name (two ports sharing a name or number, which the API rejects) keeps its
 * last value, as in the kubelet, where that order is fixed.
 */
export function serviceEnv(services: Iterable<ServiceInfo>, pod: PodScope): EnvVar[] {
  const out = new Map<string, string>();
  for (const s of servicesForPod(services, pod)) {
    const own = new Map<string, string>();
    for (const v of serviceVars(s)) own.set(v.name, v.value);
    for (const [name, value] of own) if (!out.has(name)) out.set(name, value);
  }
  return [...out].map(([name, value]) => ({ name, value }));
}

/** Bytes the variables take in a process environment: NAME=VALUE and a NUL terminator each (UTF-8). */
export function envBytes(vars: readonly EnvVar[]): number {
  let n = 0;
  for (const v of vars) n += Buffer.byteLength(v.name) + Buffer.byteLength(v.value) + 2;
  return n;
}
