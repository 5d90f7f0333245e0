// NSD (Debian's `nsd`) as a real upstream: authoritative zones from zone-file text on a loopback port, rate
// limiting off. The forwarder tests point cluster-dns at it.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../cluster/ports.js';
import { ManagedProcess } from '../cluster/process.js';
import { dig } from './dig.js';
import { eventually } from './eventually.js';

/** The upstream zone the forwarding tests share: SOA, NS and `www` with an A and an AAAA; tests append their own records. */
export const EXAMPLE_ZONE = `$ORIGIN example.test.
$TTL 300
@ IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60
@ IN NS ns.example.test.
ns IN A 127.0.0.1
www IN A 192.0.2.10
www IN AAAA 2001:db8::10
`;

export interface Nsd {
  port: number;
  stop(): Promise<void>;
}

/** nsd lives in /usr/sbin, which is not on every user's PATH. */
const NSD = existsSync('/usr/sbin/nsd') ? '/usr/sbin/nsd' : 'nsd';

/**
 * Writes nsd.conf and the zone files into `dir`: loopback, one server process, rate limiting off, no remote
 * control. Shared by the forwarding tests and the benchmark.
 */
export function writeNsdConfig(dir: string, port: number, zones: Record<string, string>, address = '127.0.0.1'): void {
  const conf = [
    'server:',
    `  ip-address: ${address}`,
    `  port: ${port}`,
    '  username: ""',
    '  chroot: ""',
    `  zonesdir: "${dir}"`,
    `  pidfile: "${dir}/nsd.pid"`,
    '  database: ""',
    `  xfrdfile: "${dir}/xfrd.state"`,
    `  xfrdir: "${dir}"`, // else NSD leaves its nsd-xfr-<pid> folder in /tmp
    `  zonelistfile: "${dir}/zone.list"`,
    `  logfile: "${dir}/nsd.log"`,
    '  server-count: 1',
    '  rrl-ratelimit: 0',
    '  hide-version: yes',
    '  verbosity: 0',
    'remote-control:',
    '  control-enable: no',
  ];
  for (const [origin, text] of Object.entries(zones)) {
    writeFileSync(join(dir, `${origin}.zone`), text);
    conf.push('zone:', `  name: ${origin}`, `  zonefile: ${origin}.zone`);
  }
  writeFileSync(join(dir, 'nsd.conf'), `${conf.join('\n')}\n`);
}

export async function startNsd(zones: Record<string, string>): Promise<Nsd> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cdns-nsd-'));
  writeNsdConfig(dir, port, zones);
  const proc = new ManagedProcess('nsd', NSD, ['-d', '-c', join(dir, 'nsd.conf')], join(dir, 'nsd.out'));
  const stop = async (): Promise<void> => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const first = Object.keys(zones)[0]!;
  try {
    await eventually(10_000, `NSD on port ${port} (log ${dir}/nsd.log)`, async () => {
      if (proc.exit) throw new Error(`nsd ${proc.describeExit()}: ${proc.readLog().slice(-400)}`);
      return (await dig(port, first, 'SOA')).status === 'NOERROR';
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, stop };
}
