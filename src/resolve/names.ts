// Name grammar of the cluster zone (CoreDNS plugin/kubernetes/parse.go), as a pure function.
//   <zone>                                  apex
//   svc | pod                               apex-like: exists, holds nothing
//   <ns>.svc|pod                            namespace
//   <svc>.<ns>.svc                          service        (<pod>.<ns>.pod: pod)
//   <ep>.<svc>.<ns>.svc                     endpoint
//   [_]<port>.[_]<proto>.<svc>.<ns>.svc     port + protocol (underscores optional)
// Anything else, and any last label other than svc/pod, is invalid: NXDOMAIN.

export type ParsedName =
  | { kind: 'empty' }
  | { kind: 'invalid' }
  | { kind: 'svc' | 'pod'; namespace: string; service?: string; endpoint?: string; port?: string; protocol?: string };

const stripUnderscore = (label: string): string => (label.startsWith('_') ? label.substring(1) : label);

/** `base` is the lower-cased name with the zone removed ('' for the apex). */
export function parseName(base: string): ParsedName {
  if (base === '' || base === 'svc' || base === 'pod') return { kind: 'empty' };
  const labels = base.split('.');
  const kind = labels.pop()!;
  if (kind !== 'svc' && kind !== 'pod') return { kind: 'invalid' };
  const namespace = labels.pop()!;
  const service = labels.pop();
  if (service === undefined) return { kind, namespace };
  if (labels.length === 0) return { kind, namespace, service };
  if (labels.length === 1) return { kind, namespace, service, endpoint: labels[0]! };
  if (labels.length === 2) return { kind, namespace, service, port: stripUnderscore(labels[0]!), protocol: stripUnderscore(labels[1]!) };
  return { kind: 'invalid' };
}

/** The zone a lower-case name falls in, from `zones` sorted longest first (so `10.in-addr.arpa` beats `in-addr.arpa`). */
export function zoneOf(lowerName: string, zones: readonly string[]): string | undefined {
  return zones.find((z) => lowerName === z || lowerName.endsWith(`.${z}`));
}

/** `lowerName` without its zone: '' for the apex. */
export const relativeName = (lowerName: string, zone: string): string => (lowerName === zone ? '' : lowerName.substring(0, lowerName.length - zone.length - 1));

/** Longest first: the order `zoneOf` wants. */
export const longestFirst = (zones: Iterable<string>): string[] => [...new Set(zones)].sort((a, b) => b.length - a.length);

/** The index's key for a relative name: port and protocol labels lose their optional underscores. */
export function indexName(relative: string): string {
  const labels = relative.split('.');
  return labels.length === 5 ? labels.map((l, i) => (i < 2 ? stripUnderscore(l) : l)).join('.') : relative;
}

/** The IP a pod label spells: `1-2-3-4` (exactly three dashes, no `--`) is IPv4, anything else IPv6 (`fd00--1`). */
export function podLabelToIP(label: string): string {
  const dashes = label.split('-').length - 1;
  return dashes === 3 && !label.includes('--') ? label.replaceAll('-', '.') : label.replaceAll('-', ':');
}
