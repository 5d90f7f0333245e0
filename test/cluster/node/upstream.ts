// The node's upstream resolver: NSD on the host end of the veth, authoritative for the test zone, named by the
// resolver file the kubelet gives `dnsPolicy: Default` pods. CoreDNS's and cluster-dns's `forward . /etc/resolv.conf`
// therefore reach this server and nothing else: the machine's own resolver is never asked.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeNsdConfig } from '../../helpers/nsd.js';
import { waitReady } from '../probe.js';
import { ManagedProcess } from '../process.js';
import { HOST_ADDRESS, UPSTREAM_ZONE } from './layout.js';

const execFileP = promisify(execFile);
const NSD = '/usr/sbin/nsd';

/** Addresses from the documentation ranges: answers only, nothing ever connects to them. */
export const UPSTREAM_RECORDS = { 'www.example.test': { A: '198.51.100.80', AAAA: '2001:db8::80' } } as const;

const ZONE = `$ORIGIN ${UPSTREAM_ZONE}.
$TTL 300
@    IN SOA ns.${UPSTREAM_ZONE}. hostmaster.${UPSTREAM_ZONE}. 1 3600 600 86400 60
@    IN NS  ns.${UPSTREAM_ZONE}.
ns   IN A   ${HOST_ADDRESS}
www  IN A   ${UPSTREAM_RECORDS['www.example.test'].A}
www  IN AAAA ${UPSTREAM_RECORDS['www.example.test'].AAAA}
api  IN CNAME www.${UPSTREAM_ZONE}.
txt  IN TXT "served by the cluster-dns test node's upstream"
`;

export interface Upstream {
  proc: ManagedProcess;
  /** The file the kubelet's resolvConf points at. */
  resolvConf: string;
}

export async function startUpstream(runDir: string): Promise<Upstream> {
  const dir = join(runDir, 'upstream');
  await mkdir(dir, { recursive: true });
  writeNsdConfig(dir, 53, { [UPSTREAM_ZONE]: ZONE }, HOST_ADDRESS);
  const proc = new ManagedProcess('nsd', NSD, ['-d', '-c', join(dir, 'nsd.conf')], join(dir, 'nsd.out'));
  const resolvConf = join(runDir, 'resolv.conf');
  // No search line: the kubelet appends the host's search domains to every ClusterFirst pod's own.
  await writeFile(resolvConf, `nameserver ${HOST_ADDRESS}\n`);
  await waitReady(proc, 10_000, async () => {
    const { stdout } = await execFileP('dig', [`@${HOST_ADDRESS}`, '-p', '53', '+time=1', '+tries=1', '+short', `www.${UPSTREAM_ZONE}`, 'A']);
    return stdout.trim() === UPSTREAM_RECORDS['www.example.test'].A;
  });
  return { proc, resolvConf };
}
