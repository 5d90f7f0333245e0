// The reference server: CoreDNS (built from its Go module by test/setup.sh) with the kubeadm Corefile's
// kubernetes block, pointed at the same API server as cluster-dns.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPath } from '../cluster/binaries.js';
import { freePort } from '../cluster/ports.js';
import { ManagedProcess } from '../cluster/process.js';
import { dig } from './dig.js';
import { eventually } from './eventually.js';

export interface CoreDns {
  port: number;
  corefile: string;
  stop(): Promise<void>;
}

export async function startCoreDns(kubeconfig: string, opts: { pods: string; extra?: string[] }): Promise<CoreDns> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cdns-coredns-'));
  const corefile = [
    `.:${port} {`,
    '    bind 127.0.0.1',
    '    errors',
    '    kubernetes cluster.local in-addr.arpa ip6.arpa {',
    `        kubeconfig ${kubeconfig}`,
    `        pods ${opts.pods}`,
    '        ttl 5',
    ...(opts.extra ?? []).map((l) => `        ${l}`),
    '    }',
    '}',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'Corefile'), corefile);
  const proc = new ManagedProcess('coredns', binaryPath('coredns'), ['-conf', join(dir, 'Corefile')], join(dir, 'coredns.log'));
  const stop = async (): Promise<void> => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(30_000, `CoreDNS on port ${port} serving (log ${join(dir, 'coredns.log')})`, async () => {
      if (proc.exit) throw new Error(`CoreDNS ${proc.describeExit()}: ${proc.readLog().slice(-500)}`);
      return (await dig(port, 'kubernetes.default.svc.cluster.local', 'A')).status === 'NOERROR';
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, corefile, stop };
}
