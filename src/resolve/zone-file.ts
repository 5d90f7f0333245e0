// `cluster-dns zone`: the records the server would answer, as an RFC 1035 master file (one record per line,
// absolute names, explicit TTL and class, SOA first) that NSD or BIND load as is.
import { RRType, typeName } from '../dns/constants.js';
import type { RR } from '../dns/message.js';
import { type NameNode, answersOf } from '../records/build.js';
import { parseIP, reverseName } from '../net/ip.js';
import { addressRR, cnameRR, nsRR, ptrRR, srvRR, txtRR, zoneSoa } from '../records/rr.js';
import type { ZoneIndex } from '../records/zone-index.js';
import { DNS_SCHEMA_VERSION } from './cluster.js';

export function rdataText(rr: RR): string {
  // RFC 3597 generic form for types we only relay.
  if ('raw' in rr) return `\\# ${rr.raw.length} ${Buffer.from(rr.raw).toString('hex')}`;
  switch (rr.type) {
    case RRType.MX:
      return `${rr.mx.preference} ${rr.mx.exchange}.`;
    case RRType.A:
    case RRType.AAAA:
      return rr.address;
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
      return `${rr.target}.`;
    case RRType.SRV:
      return `${rr.srv.priority} ${rr.srv.weight} ${rr.srv.port} ${rr.srv.target}.`;
    case RRType.SOA: {
      const s = rr.soa;
      return `${s.mname}. ${s.rname}. ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    case RRType.TXT:
      return rr.texts.map((t) => JSON.stringify(t)).join(' ');
  }
}

export function rrText(rr: RR): string {
  return `${rr.name}.\t${rr.ttl}\tIN\t${typeName(rr.type)}\t${rdataText(rr)}`;
}

/** `http.tcp.web.ns.svc` is served for both spellings; the zone file uses the RFC 2782 one. */
function ownerName(base: string): string {
  const labels = base.split('.');
  if (labels.length === 5) return `_${labels[0]}._${labels[1]}.${labels.slice(2).join('.')}`;
  return base;
}

function nodeRecords(owner: string, node: NameNode, zone: string, ttl: number): RR[] {
  if (node.cname !== undefined) return [cnameRR(owner, ttl, node.cname)];
  const answers = answersOf(node);
  return [
    ...answers.a.map((ip) => addressRR(owner, ttl, ip)),
    ...answers.aaaa.map((ip) => addressRR(owner, ttl, ip)),
    ...answers.srv.map((s) => srvRR(owner, ttl, { priority: 0, weight: s.weight, port: s.port, target: `${s.target}.${zone}` })),
  ];
}

export function zoneFile(index: ZoneIndex, opts: { zones: string[]; origin: string; ttl: number }): string {
  const { origin, ttl } = opts;
  const soa = zoneSoa(origin, ttl, index.serial);
  const records: RR[] = [soa, nsRR(origin, ttl, `ns.dns.${origin}`)];
  if (origin === 'in-addr.arpa' || origin === 'ip6.arpa') {
    for (const [ip, targets] of index.reverseEntries()) {
      const parsed = parseIP(ip)!;
      const name = reverseName(parsed);
      if (!name.endsWith(`.${origin}`)) continue;
      for (const t of targets) records.push(ptrRR(name, ttl, `${t}.${opts.zones[0]}`));
    }
  } else {
    records.push(txtRR(`dns-version.${origin}`, 28800, [DNS_SCHEMA_VERSION]));
    const names = [...index.entries()].sort(([a], [b]) => a.localeCompare(b));
    for (const [base, node] of names) records.push(...nodeRecords(`${ownerName(base)}.${origin}`, node, origin, ttl));
  }
  const header = [`; cluster-dns zone ${origin}: ${records.length} records`, `$ORIGIN ${origin}.`];
  return `${[...header, ...records.map(rrText)].join('\n')}\n`;
}
