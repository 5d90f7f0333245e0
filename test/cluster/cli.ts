// `npm run cluster`: a local control plane for trying the DNS server by hand.
// `npm run cluster -- --node`: the same plus a real node (kubelet, containerd, kube-proxy, CNI) with CoreDNS
// deployed as kubeadm does, for swapping cluster-dns in and resolving from real pods (node/cluster.ts).
//
// Prints `KUBECONFIG=<path>` on a line of its own once everything is ready (scripts can wait for that line), then
// runs until SIGINT or SIGTERM (or its parent dies), stops everything and exits 0.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startControlPlane } from './control-plane.js';
import { startNodeCluster } from './node/cluster.js';

const USAGE = 'usage: npm run cluster [-- --node]';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--node');
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument ${unknown[0]}\n${USAGE}\n`);
    process.exit(2);
  }
  const withNode = args.includes('--node');
  const parent = process.ppid;
  let stop: (() => Promise<void>) | undefined;
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal === 'SIGHUP' ? 'parent gone or SIGHUP' : signal}: stopping the ${withNode ? 'cluster' : 'control plane'}\n`);
    // Before the start has finished there is nothing to stop() yet; exiting runs the exit handler's clean-ups.
    void (stop?.() ?? Promise.resolve()).then(() => process.exit(0), (error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(1);
    });
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, shutdown);

  const began = Date.now();
  let kubeconfigPath: string;
  if (withNode) {
    // The node's parts and images (built once into the cache; the cluster-dns image again when src/ changed).
    const setup = fileURLToPath(new URL('../../../test/setup.sh', import.meta.url));
    const built = spawnSync('bash', [setup, 'node'], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (built.status !== 0) process.exit(built.status ?? 1);
    const cluster = await startNodeCluster({ handleSignals: false, log: (line) => process.stderr.write(`  ${line}\n`) });
    stop = cluster.stop;
    kubeconfigPath = cluster.kubeconfigPath;
    process.stderr.write(`cluster ready in ${((Date.now() - began) / 1000).toFixed(1)} s: ${cluster.cp.server}, node ${cluster.nodeName} (${cluster.nodeAddress})\n`);
    process.stderr.write(`logs: ${cluster.resources.dir}/*.log, ${cluster.cp.dir}/*.log; Ctrl-C to stop\n`);
  } else {
    const cp = await startControlPlane({ handleSignals: false });
    stop = cp.stop;
    kubeconfigPath = cp.kubeconfigPath;
    process.stderr.write(`control plane ready in ${((Date.now() - began) / 1000).toFixed(1)} s: ${cp.server} (node ${cp.nodeName})\n`);
    process.stderr.write(`logs: ${cp.dir}/*.log; Ctrl-C to stop\n`);
  }
  process.stdout.write(`KUBECONFIG=${kubeconfigPath}\n`);
  // Run until a signal arrives, or until our parent is gone: `npm run cluster` starts us under `sh -c`, which does
  // not pass on a SIGTERM sent to npm, so a killed npm would otherwise leave us (and the cluster) running. An
  // orphan is re-parented, so a changed ppid means the parent died. (Ctrl-C in a terminal reaches us directly.)
  setInterval(() => {
    if (process.ppid !== parent) shutdown('SIGHUP');
  }, 500);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
