// The reference server: CoreDNS (built from its Go module by test/setup.sh). `startCoreDns` runs the kubeadm
// Corefile's kubernetes block against the same API server as cluster-dns; `startCoreDnsWith` runs any Corefile
// (the differential suite's), which must already listen on `port` and bind 127.0.0.1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPath } from '../cluster/binaries.js';
import { freePort, onFreePorts } from '../cluster/ports.js';
import { ManagedProcess } from '../cluster/process.js';
import { dig } from './dig.js';

export interface CoreDns {
  port: number;
  corefile: string;
  stop(): Promise<void>;
}

export function startCoreDns(kubeconfig: string, opts: { pods: string; extra?: string[] }): Promise<CoreDns> {
  return onFreePorts(() => startCoreDnsOnce(kubeconfig, opts));
}

async function startCoreDnsOnce(kubeconfig: string, opts: { pods: string; extra?: string[] }): Promise<CoreDns> {
  const port = await freePort();
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
  return startCoreDnsWith(corefile, port);
}

/**
 * Starts CoreDNS on `corefile` and waits until it answers `kubernetes.default.svc.cluster.local` on `port`.
 * A CoreDNS that exits or never answers fails with one line: what, where, and the log's last error line.
 */
export async function startCoreDnsWith(corefile: string, port: number, label = 'CoreDNS'): Promise<CoreDns> {
  const dir = mkdtempSync(join(tmpdir(), 'cdns-coredns-'));
  writeFileSync(join(dir, 'Corefile'), corefile);
  const log = join(dir, 'coredns.log');
  const proc = new ManagedProcess('coredns', binaryPath('coredns'), ['-conf', join(dir, 'Corefile')], log);
  const stop = async (): Promise<void> => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const lastError = (): string => proc.readLog().split('\n').filter((l) => /error|fail|panic|\[FATAL\]/i.test(l)).pop()?.trim() ?? proc.readLog().trim().split('\n').pop() ?? '';
  const deadline = Date.now() + 30_000;
  for (;;) {
    // An exited CoreDNS fails at once; one that never answers fails at the deadline. Either way: one line.
    const failure = proc.exit
      ? `${label} did not start (${proc.describeExit()}; Corefile and log in ${dir}): ${lastError()}`
      : Date.now() > deadline
        ? `${label} did not answer on 127.0.0.1:${port} within 30 s: ${lastError()}`
        : undefined;
    if (failure !== undefined) {
      await proc.stop(); // the folder stays, for its Corefile and log
      throw new Error(failure.replace(/\s*\n\s*/g, ' '));
    }
    const ready = await dig(port, 'kubernetes.default.svc.cluster.local', 'A').then((r) => r.status === 'NOERROR', () => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, corefile, stop };
}
