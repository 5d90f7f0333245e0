// One Corefile under test: CoreDNS running it, and cluster-dns running what `cluster-dns import-corefile` prints
// for it (through the real CLI, so the migration tool is tested by the same run). Anything the importer cannot
// carry over fails the start, except what the test itself added to make the Corefile safe here.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { silentLogger } from '../../src/base/log.js';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/server/server.js';
import { freePort, onFreePorts } from '../cluster/ports.js';
import { type CoreDns, startCoreDnsWith } from '../helpers/coredns.js';
import { corefileText, type Variant } from './corefiles.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

/**
 * What the importer may say it did not carry over without failing the run: the line the test adds to every
 * Corefile (the test API server's kubeconfig), and differences documented in docs/dns-behaviour.md.
 */
const EXPECTED_NOTES = [
  /: kubernetes kubeconfig: /,
  // "Differences from CoreDNS": one cache for both kinds, sized as the sum of CoreDNS's two capacities.
  /: cache success\/denial capacity: cluster-dns has one cache for both kinds/,
];

export interface Pair {
  variant: Variant;
  corefile: string;
  imported: string;
  coredns: CoreDns;
  ours: RunningServer & { port: number };
  stop(): Promise<void>;
}

export function startPair(variant: Variant, kubeconfig: string, upstream: number, stubUpstream: number): Promise<Pair> {
  return onFreePorts(() => startPairOnce(variant, kubeconfig, upstream, stubUpstream));
}

async function startPairOnce(variant: Variant, kubeconfig: string, upstream: number, stubUpstream: number): Promise<Pair> {
  const [dns, health, ready, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const corefile = corefileText(variant, { dns, health, ready, metrics, upstream, stubUpstream, kubeconfig });
  const dir = mkdtempSync(join(tmpdir(), 'cdns-diff-'));
  try {
    writeFileSync(join(dir, 'Corefile'), corefile);
    const { stdout, stderr } = await run(process.execPath, [CLI, 'import-corefile', join(dir, 'Corefile')]);
    const notes = stderr.split('\n').filter((l) => l.trim() !== '' && !EXPECTED_NOTES.some((re) => re.test(l)));
    if (notes.length > 0) throw new Error(`import-corefile could not carry over ${variant.label}:\n  ${notes.join('\n  ')}\nCorefile:\n${corefile}`);
    writeFileSync(join(dir, 'config.yaml'), stdout);
    const coredns = await startCoreDnsWith(corefile, dns, `CoreDNS (${variant.label})`);
    // The imported file as it is; only the listeners move (CoreDNS holds its ports) and the API server is the test's.
    const config = loadConfig('serve', ['--config', join(dir, 'config.yaml'), '--kubeconfig', kubeconfig, '--dns-addr', '127.0.0.1:0', '--metrics-addr', 'off', '--health-addr', 'off', '--ready-addr', 'off'], {});
    const server = await startServer(config, silentLogger).catch(async (err: unknown) => {
      await coredns.stop();
      throw err;
    });
    const ours = Object.assign(server, { port: server.udp[0]!.address.port });
    return {
      variant, corefile, imported: stdout, coredns, ours,
      stop: async () => {
        await Promise.all([coredns.stop(), ours.stop()]);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
