// Where forwarded queries go: `--upstream` addresses, or the nameservers of resolv.conf (as CoreDNS's
// `forward . /etc/resolv.conf`). When resolv.conf names only loopback resolvers (systemd-resolved's 127.0.0.53
// stub, which would send queries back into the node), the real upstreams systemd-resolved uses are tried.
import fs from 'node:fs';
import { isIP } from 'node:net';
import { UpstreamConfigError } from '../base/errors.js';
import { type UpstreamAddress, isLoopback } from '../net/address.js';

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

export const SYSTEMD_RESOLV_CONF = '/run/systemd/resolve/resolv.conf';

/** The upstreams to use, and a note for the log when a fallback was taken. */
export function resolveUpstreams(explicit: UpstreamAddress[], resolvConf: string, systemdResolvConf = SYSTEMD_RESOLV_CONF): { upstreams: UpstreamAddress[]; note?: string } {
  if (explicit.length) return { upstreams: explicit };
  const listed = nameserversOf(resolvConf);
  if (listed.length === 0) throw new UpstreamConfigError(`${resolvConf} lists no nameserver: give --upstream`);
  if (listed.every((a) => isLoopback(a.host)) && fs.existsSync(systemdResolvConf)) {
    const real = nameserversOf(systemdResolvConf).filter((a) => !isLoopback(a.host));
    if (real.length) return { upstreams: real, note: `${resolvConf} lists only loopback resolvers; using ${systemdResolvConf}` };
  }
  return { upstreams: listed };
}
