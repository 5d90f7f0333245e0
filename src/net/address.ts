// Addresses as the user writes them, parsed once into typed values: where to listen (HOST:PORT), where to
// forward (ADDR[:PORT]) and which domains go to their own servers (DOMAIN=ADDR[,ADDR...]). Config stores these
// values, so no component parses an address again.
import { isIP } from 'node:net';
import { ConfigError, UpstreamConfigError } from '../base/errors.js';

export interface ListenAddress {
  host: string; // '' = every address
  port: number;
}

export interface UpstreamAddress {
  host: string;
  port: number;
}

export interface StubDomain {
  domain: string;
  upstreams: UpstreamAddress[];
}

export function parseListenAddress(text: string, what = '--dns-addr'): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535 || (host !== '' && host !== 'localhost' && isIP(host) === 0)) {
    throw new ConfigError(`${what} ${JSON.stringify(text)}: want HOST:PORT, [IPv6]:PORT or :PORT with an IP address host and a port 0-65535`);
  }
  return { host, port };
}

export const addressText = (a: UpstreamAddress): string => (isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

/** `10.0.0.1`, `10.0.0.1:5353`, `[fd00::1]:53`, `fd00::1` → address; anything else throws naming it. */
export function parseUpstream(text: string, what = '--upstream'): UpstreamAddress {
  const t = text.trim();
  let host = t;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if (isIP(t) === 0 && /^[^:]+:\d+$/.test(t)) {
    const i = t.lastIndexOf(':');
    host = t.substring(0, i);
    port = Number(t.substring(i + 1));
  }
  if (isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UpstreamConfigError(`${what} ${JSON.stringify(text)}: want an IP address with an optional port (10.0.0.1, 10.0.0.1:5353, [fd00::1]:53)`);
  }
  return { host, port };
}

/** `example.corp=10.1.2.3[:53][,10.1.2.4]` */
export function parseStubDomain(text: string): StubDomain {
  const eq = text.indexOf('=');
  const domain = text.substring(0, eq).trim().toLowerCase().replace(/\.$/, '');
  if (eq <= 0 || !/^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$/.test(domain)) {
    throw new UpstreamConfigError(`--stub-domain ${JSON.stringify(text)}: want DOMAIN=ADDR[:PORT][,ADDR[:PORT]...]`);
  }
  const upstreams = text
    .substring(eq + 1)
    .split(',')
    .map((a) => parseUpstream(a, `--stub-domain ${domain}`));
  return { domain, upstreams };
}

/** As given: `example.corp=10.1.2.3:53,10.1.2.4:53` (for logs). */
export const stubDomainText = (s: StubDomain): string => `${s.domain}=${s.upstreams.map(addressText).join(',')}`;

/** 127.0.0.0/8, ::1, and 127.x as an IPv4-mapped IPv6 address (how a dual-stack socket reports it). */
export const isLoopback = (address: string | undefined): boolean => !!address && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'));
