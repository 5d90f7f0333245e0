// Mocha root-hook plugin (loaded through .mocharc.cjs `require`) owning the one control plane of a test run.
//
// The control plane starts lazily, on the first getControlPlane() call, so a run with only unit tests never pays
// for it; every later call gets the same instance, and the root afterAll stops it. Starting takes about 5-10 s
// with built binaries (up to a minute on a loaded machine), so the first suite to call it needs a long timeout:
//
//   before(async function () {
//     this.timeout(120_000); // first caller starts the control plane
//     cp = await getControlPlane();
//     ns = await createTestNamespace(cp, 'my-feature');
//   });
//
// A failed start is remembered: later callers get the same error at once instead of waiting again.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { startNodeCluster, type NodeCluster } from './node/cluster.js';
import { removeScratch, startScratch } from './scratch.js';

export type { ControlPlane } from './control-plane.js';
export type { NodeCluster } from './node/cluster.js';

startScratch();

let controlPlane: Promise<ControlPlane> | undefined;
let nodeCluster: Promise<NodeCluster> | undefined;

/**
 * The real node of this run (test/cluster/node/), started on the first call, like getControlPlane() but with its
 * own control plane: its API server serves the node's veth address with ServiceAccount admission on, which the
 * fake-node tests do not want. Its first start takes a minute or more (images are imported into containerd);
 * callers give their before() hook a long timeout. A failed start is remembered and rethrown at once.
 */
export function getNodeCluster(): Promise<NodeCluster> {
  nodeCluster ??= startNodeCluster({ log: (line) => process.stderr.write(`      real node: ${line}\n`) });
  return nodeCluster;
}

/** Stops the real node now (a test that needs the machine without it, e.g. one that starts its own). */
export async function stopNodeCluster(): Promise<void> {
  const started = nodeCluster;
  nodeCluster = undefined;
  const cluster = await started?.catch(() => undefined);
  await cluster?.stop();
}

export function getControlPlane(): Promise<ControlPlane> {
  controlPlane ??= startControlPlane();
  return controlPlane;
}

/** A client-node KubeConfig for the admin kubeconfig of `cp`. */
export function kubeConfigFor(cp: ControlPlane): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  return kc;
}

/**
 * Creates a namespace named `<prefix>-<random>` (a valid DNS label) and returns its name. Each test uses its own,
 * so tests do not see each other's Services and Pods; they are not deleted, since the control plane is thrown away.
 */
export async function createTestNamespace(cp: ControlPlane, prefix: string): Promise<string> {
  const base = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'test';
  const name = `${base}-${randomBytes(4).toString('hex')}`;
  await kubeConfigFor(cp).makeApiClient(CoreV1Api).createNamespace({
    body: { metadata: { name, labels: { 'cluster-dns.test/suite': base } } },
  });
  return name;
}

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(90_000);
    await stopNodeCluster();
    if (controlPlane !== undefined) {
      const started = controlPlane;
      controlPlane = undefined;
      const cp = await started.catch(() => undefined); // a failed start has cleaned up after itself
      await cp?.stop();
    }
    removeScratch();
  },
};
