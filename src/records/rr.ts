// Constructors for resource records: addresses are encoded to wire bytes once, here.
import { RRType } from '../dns/constants.js';
import type { RR, SoaData, SrvData } from '../dns/message.js';
import { parseIP } from '../net/ip.js';

export function addressRR(name: string, ttl: number, address: string): RR {
  const ip = parseIP(address);
  if (!ip) throw new Error(`not an IP address: ${address}`);
  return ip.family === 4
    ? { name, type: RRType.A, ttl, address: ip.text, bytes: ip.bytes }
    : { name, type: RRType.AAAA, ttl, address: ip.text, bytes: ip.bytes };
}

export const cnameRR = (name: string, ttl: number, target: string): RR => ({ name, type: RRType.CNAME, ttl, target });
export const ptrRR = (name: string, ttl: number, target: string): RR => ({ name, type: RRType.PTR, ttl, target });
export const nsRR = (name: string, ttl: number, target: string): RR => ({ name, type: RRType.NS, ttl, target });
export const srvRR = (name: string, ttl: number, srv: SrvData): RR => ({ name, type: RRType.SRV, ttl, srv });
export const soaRR = (name: string, ttl: number, soa: SoaData): RR => ({ name, type: RRType.SOA, ttl, soa });
export const txtRR = (name: string, ttl: number, texts: string[]): RR => ({ name, type: RRType.TXT, ttl, texts });

/** The zone's SOA as CoreDNS's kubernetes plugin writes it: TTL min(ttl, 300), minimum = ttl, fixed timers. */
export function zoneSoa(zone: string, ttl: number, serial: number): RR {
  return soaRR(zone, Math.min(ttl, 300), { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl });
}
