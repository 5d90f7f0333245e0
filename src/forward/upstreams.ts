// Where forwarded queries go: `--upstream` addresses, or the nameservers of resolv.conf (as CoreDNS's
// `forward . /etc/resolv.conf`). When resolv.conf names only loopback resolvers (systemd-resolved's 127.0.0.53
// stub, which would send queries back into the node), the real upstreams systemd-resolved uses are tried.
import { UpstreamConfigError } from '../base/errors.js';
export { UpstreamConfigError };
import fs from 'node:fs';
import { isIP } from 'node:net';

export interface UpstreamAddress {
  host: string;
  port: number;
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

export function nameserversOf(path: string): UpstreamAddress[] {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new UpstreamConfigError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const out: UpstreamAddress[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const host = m[1]!.replace(/%.*$/, ''); // drop an IPv6 zone index
    if (isIP(host)) out.push({ host, port: 53 });
  }
  return out;
}

const isLoopback = (host: string): boolean => host.startsWith('127.') || host === '::1';

export const SYSTEMD_RESOLV_CONF = '/run/systemd/resolve/resolv.conf';

/** The upstreams to use, and a note for the log when a fallback was taken. */
export function resolveUpstreams(explicit: string[], resolvConf: string, systemdResolvConf = SYSTEMD_RESOLV_CONF): { upstreams: UpstreamAddress[]; note?: string } {
  if (explicit.length) return { upstreams: explicit.map((u) => parseUpstream(u)) };
  const listed = nameserversOf(resolvConf);
  if (listed.length === 0) throw new UpstreamConfigError(`${resolvConf} lists no nameserver: give --upstream`);
  if (listed.every((a) => isLoopback(a.host)) && fs.existsSync(systemdResolvConf)) {
    const real = nameserversOf(systemdResolvConf).filter((a) => !isLoopback(a.host));
    if (real.length) return { upstreams: real, note: `${resolvConf} lists only loopback resolvers; using ${systemdResolvConf}` };
  }
  return { upstreams: listed };
}

export interface StubDomain {
  domain: string;
  upstreams: UpstreamAddress[];
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
