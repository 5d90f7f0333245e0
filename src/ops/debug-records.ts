// The /records debug view (--debug-records): what the index holds for one name and which Service and slices it
// came from, or which Services a reverse name's address belongs to. It reads names with the zone's grammar
// (resolve/names.ts), so `_http._tcp.web.ns.svc` and `http.tcp.web.ns.svc` are explained alike, as they answer.
import { addressFromReverse } from '../net/ip.js';
import type { ZoneIndex } from '../records/zone-index.js';
import { indexName, longestFirst, relativeName, zoneOf } from '../resolve/names.js';

const REVERSE = [
  { suffix: '.in-addr.arpa', family: 4 },
  { suffix: '.ip6.arpa', family: 6 },
] as const;

export function debugRecords(index: () => ZoneIndex, clusterZones: () => readonly string[]): (name: string) => unknown {
  return (name) => {
    const lower = name.toLowerCase().replace(/\.$/, '');
    for (const { suffix, family } of REVERSE) {
      if (!lower.endsWith(suffix)) continue;
      const ip = addressFromReverse(lower.substring(0, lower.length - suffix.length), family);
      return ip ? { name: lower, address: ip, ...index().explainAddress(ip) } : { name: lower, error: 'not a complete reverse name' };
    }
    const zone = zoneOf(lower, longestFirst(clusterZones()));
    if (!zone) return { name: lower, error: 'not in a cluster zone' };
    const base = indexName(relativeName(lower, zone));
    return { name: lower, zone, relativeName: base, ...(index().explain(base) ?? { found: false }) };
  };
}
