// Where the control-plane binaries live.
//
// They are built from Go modules by test/cluster/build-binaries.sh into a cache outside the clone (never committed).
// Each binary can instead be pointed at a prebuilt file with an environment variable, which wins. The version and
// cache defaults below must stay in step with build-binaries.sh, which reads the same variables.
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const KUBE_VERSION = process.env.KUBE_VERSION ?? 'v1.35.4';
export const COREDNS_VERSION = process.env.COREDNS_VERSION ?? 'v1.14.7';
export const CACHE_DIR = process.env.CLUSTER_DNS_CACHE ?? join(homedir(), '.cache', 'cluster-dns');

export type BinaryName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kubectl' | 'coredns'
  | 'kubelet' | 'kube-proxy' | 'kube-scheduler' | 'runc-clamp';

const ENV_VAR: Record<BinaryName, string> = {
  etcd: 'ETCD',
  'kube-apiserver': 'KUBE_APISERVER',
  'kube-controller-manager': 'KUBE_CONTROLLER_MANAGER',
  kubectl: 'KUBECTL',
  coredns: 'COREDNS',
  kubelet: 'KUBELET',
  'kube-proxy': 'KUBE_PROXY',
  'kube-scheduler': 'KUBE_SCHEDULER',
  'runc-clamp': 'RUNC_CLAMP',
};

function cachePath(name: BinaryName): string {
  if (name === 'coredns') return join(CACHE_DIR, `coredns-${COREDNS_VERSION}`, 'bin', 'coredns');
  if (name === 'runc-clamp') return join(CACHE_DIR, 'node', 'bin', 'runc-clamp');
  return join(CACHE_DIR, `kube-${KUBE_VERSION}`, 'bin', name);
}

const NODE_BINARIES = new Set<BinaryName>(['kubelet', 'kube-proxy', 'kube-scheduler', 'runc-clamp']);

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first `kubectl` on PATH, as a last resort: any recent kubectl talks to the test API server. */
function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

/**
 * Absolute path of an executable binary, or throws one line saying which one is missing and how to get it.
 * Order: the environment variable (e.g. KUBE_APISERVER), then the build cache, then (kubectl only) PATH.
 */
export function binaryPath(name: BinaryName): string {
  const envVar = ENV_VAR[name];
  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new Error(`${name}: ${envVar}=${fromEnv} is not an executable file`);
  }
  const cached = cachePath(name);
  if (isExecutable(cached)) return cached;
  const fallback = name === 'kubectl' ? onPath('kubectl') : undefined;
  if (fallback !== undefined) return fallback;
  const target = name === 'coredns' ? 'all' : NODE_BINARIES.has(name) ? 'node' : 'kube';
  throw new Error(
    `${name} binary not found at ${cached}: build it with \`bash test/setup.sh ${target}\` or set ${envVar}=/path/to/${name}`,
  );
}

/** All binaries the control plane needs, resolved up front so a missing one fails before anything starts. */
export function controlPlaneBinaries(): Record<'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kubectl', string> {
  return {
    etcd: binaryPath('etcd'),
    'kube-apiserver': binaryPath('kube-apiserver'),
    'kube-controller-manager': binaryPath('kube-controller-manager'),
    kubectl: binaryPath('kubectl'),
  };
}

/** The real node's own binaries (built by `bash test/setup.sh node`), resolved up front like the control plane's. */
export function nodeBinaries(): Record<'kubelet' | 'kube-proxy' | 'kube-scheduler' | 'runc-clamp', string> {
  return {
    kubelet: binaryPath('kubelet'),
    'kube-proxy': binaryPath('kube-proxy'),
    'kube-scheduler': binaryPath('kube-scheduler'),
    'runc-clamp': binaryPath('runc-clamp'),
  };
}
