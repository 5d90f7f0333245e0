// API object (plain JSON, from the API server or a manifest file) → minimal object. Pure functions; they
// throw ConversionError with the field at fault, so a bad manifest names what is wrong.
import { ConversionError } from '../base/errors.js';
export { ConversionError };
import { canonicalIP, parseIP } from '../net/ip.js';
import { INJECT_ENV_LABEL, SERVICE_NAME_LABEL, TRIGGER_TIME_ANNOTATION } from '../cluster/objects.js';
import type { EndpointInfo, EndpointSliceInfo, NamespaceInfo, PodAddressInfo, PodInfo, PortInfo, ServiceInfo, ServiceKind } from '../cluster/objects.js';

export { INJECT_ENV_LABEL, SERVICE_NAME_LABEL };


type Json = Record<string, unknown>;

export interface ApiObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; deletionTimestamp?: string };
  spec?: unknown;
  status?: unknown;
  [key: string]: unknown;
}

const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function requireName(o: ApiObject, needNamespace: boolean): { name: string; namespace: string } {
  const name = o.metadata?.name;
  if (!name) throw new ConversionError('metadata.name is missing');
  const namespace = o.metadata?.namespace ?? (needNamespace ? 'default' : '');
  return { name: name.toLowerCase(), namespace: namespace.toLowerCase() };
}

function toPort(p: Json, where: string): PortInfo {
  const port = p['port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConversionError(`${where}.port must be an integer 0-65535, got ${JSON.stringify(port)}`);
  }
  return {
    name: (str(p['name']) ?? '').toLowerCase(),
    protocol: (str(p['protocol']) ?? 'TCP').toLowerCase(),
    port,
  };
}

/** CoreDNS keeps a -1 port when none is declared, so the service still has address records. */
const NO_PORTS: PortInfo[] = [{ name: '', protocol: '', port: -1 }];

export function toService(o: ApiObject): ServiceInfo {
  const { name, namespace } = requireName(o, true);
  const spec = obj(o.spec);
  const type = (str(spec['type']) ?? 'ClusterIP') as ServiceKind;
  if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type)) {
    throw new ConversionError(`spec.type ${JSON.stringify(type)} is not a Service type`);
  }
  const ports = arr(spec['ports']).map((p, i) => toPort(obj(p), `spec.ports[${i}]`));
  const rawIPs = arr(spec['clusterIPs']).map(str).filter((s): s is string => !!s);
  const primary = str(spec['clusterIP']);
  const ips = rawIPs.length > 0 ? rawIPs : primary ? [primary] : [];
  const headless = type !== 'ExternalName' && ips[0] === 'None';
  const clusterIPs: string[] = [];
  if (type !== 'ExternalName' && !headless) {
    for (const ip of ips) {
      const canonical = canonicalIP(ip);
      if (canonical === undefined) throw new ConversionError(`spec.clusterIPs has an invalid address ${JSON.stringify(ip)}`);
      clusterIPs.push(canonical);
    }
  }
  let externalName: string | undefined;
  if (type === 'ExternalName') {
    const target = str(spec['externalName']);
    if (!target) throw new ConversionError('spec.externalName is required for type ExternalName');
    externalName = target.toLowerCase().replace(/\.$/, '');
  }
  return { namespace, name, kind: type, clusterIPs, headless, rawClusterIP: primary ?? '', externalName, ports: ports.length ? ports : NO_PORTS };
}


export function toEndpointSlice(o: ApiObject): EndpointSliceInfo {
  const { name, namespace } = requireName(o, true);
  const ports = arr(o['ports']).map((p, i) => {
    const port = obj(p);
    // The controller leaves port out for a service without ports; treat as the sentinel.
    return port['port'] === undefined ? NO_PORTS[0]! : toPort(port, `ports[${i}]`);
  });
  const endpoints: EndpointInfo[] = [];
  arr(o['endpoints']).forEach((e, i) => {
    const ep = obj(e);
    // EndpointSlice API: a nil ready condition must be read as ready.
    if (obj(ep['conditions'])['ready'] === false) return;
    const addresses = arr(ep['addresses']).map((a) => {
      const canonical = canonicalIP(String(a));
      if (canonical === undefined) throw new ConversionError(`endpoints[${i}].addresses has an invalid address ${JSON.stringify(a)}`);
      return canonical;
    });
    const podName = str(obj(ep['targetRef'])['name']);
    endpoints.push({
      addresses,
      hostname: str(ep['hostname'])?.toLowerCase(),
      podName: podName && podName.length < 64 ? podName.toLowerCase() : undefined,
    });
  });
  const trigger = o.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
  const triggerMs = trigger ? Date.parse(trigger) : NaN;
  return {
    namespace,
    name,
    serviceName: o.metadata?.labels?.[SERVICE_NAME_LABEL]?.toLowerCase(),
    ports: ports.length ? ports : NO_PORTS,
    endpoints,
    lastChangeTriggerTime: Number.isNaN(triggerMs) ? undefined : triggerMs,
  };
}


export function toNamespace(o: ApiObject): NamespaceInfo {
  return { name: requireName(o, false).name, injectEnv: o.metadata?.labels?.[INJECT_ENV_LABEL] };
}

/**
 * Pods matter only for `--pods verified`. Returns undefined for pods that must not answer: no IP yet,
 * terminal or unknown phase, or being deleted (CoreDNS's field selector and its deletionTimestamp rule).
 */
export function toPod(o: ApiObject): PodInfo | undefined {
  const { name, namespace } = requireName(o, true);
  const status = obj(o.status);
  const phase = str(status['phase']);
  if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Unknown') return undefined;
  if (o.metadata?.deletionTimestamp) return undefined;
  const ip = str(status['podIP']);
  const parsed = ip ? parseIP(ip) : undefined;
  if (!parsed) return undefined;
  return { namespace, name, ip: parsed.text };
}

/**
 * The --autopath projection of a Pod: undefined for pods that hold no address any more (no IP, terminal or
 * unknown phase, being deleted), so their address stops being attributed to them.
 */
export function toPodAddress(o: ApiObject): PodAddressInfo | undefined {
  const { namespace } = requireName(o, true);
  const status = obj(o.status);
  const spec = obj(o.spec);
  const phase = str(status['phase']);
  if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Unknown') return undefined;
  if (o.metadata?.deletionTimestamp) return undefined;
  const ips = canonicalIPs(status['podIPs'], status['podIP']);
  if (ips.length === 0) return undefined;
  const meta = obj(o.metadata);
  const policy = str(spec['dnsPolicy']) ?? 'ClusterFirst';
  const searches = arr(obj(spec['dnsConfig'])['searches']);
  const written = arr(meta['managedFields']).map((f) => Date.parse(str(obj(f)['time']) ?? ''));
  return {
    uid: str(meta['uid']) ?? `${namespace}/${o.metadata?.name ?? ''}`,
    namespace,
    ips,
    hostNetwork: spec['hostNetwork'] === true,
    hostIPs: canonicalIPs(status['hostIPs'], status['hostIP']),
    clusterFirstSearch: (policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') && searches.length === 0,
    createdAt: Date.parse(str(meta['creationTimestamp']) ?? ''),
    writtenAt: written.reduce((a, b) => (Number.isNaN(b) ? a : Number.isNaN(a) ? b : Math.max(a, b)), NaN),
  };
}

/** `[{ip}]` lists (podIPs, hostIPs) with the singular field as a fallback, canonical, unparseable ones dropped. */
function canonicalIPs(list: unknown, single: unknown): string[] {
  const raw = arr(list).map((e) => str(obj(e)['ip']));
  if (raw.length === 0) raw.push(str(single));
  const out: string[] = [];
  for (const r of raw) {
    const ip = r ? canonicalIP(r) : undefined;
    if (ip !== undefined && !out.includes(ip)) out.push(ip);
  }
  return out;
}
