// `npm run cluster`: a local control plane for trying the DNS server by hand.
//
// Prints `KUBECONFIG=<path>` on a line of its own once the API server is ready and the controller manager healthy
// (scripts can wait for that line), then runs until SIGINT or SIGTERM (or its parent dies), stops everything and
// exits 0.
import { startControlPlane, type ControlPlane } from './control-plane.js';

async function main(): Promise<void> {
  const parent = process.ppid;
  let cp: ControlPlane | undefined;
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal === 'SIGHUP' ? 'parent gone or SIGHUP' : signal}: stopping the control plane\n`);
    // Before the start has finished there is nothing to stop() yet; exiting runs the SIGKILL exit handler.
    void (cp?.stop() ?? Promise.resolve()).then(() => process.exit(0), () => process.exit(1));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, shutdown);

  const began = Date.now();
  cp = await startControlPlane({ handleSignals: false });
  process.stderr.write(`control plane ready in ${((Date.now() - began) / 1000).toFixed(1)} s: ${cp.server} (node ${cp.nodeName})\n`);
  process.stderr.write(`logs: ${cp.dir}/*.log; Ctrl-C to stop\n`);
  process.stdout.write(`KUBECONFIG=${cp.kubeconfigPath}\n`);
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
