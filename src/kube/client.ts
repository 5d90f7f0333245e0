// Connection to the API server: where it is, and the TLS and auth options of each request (the requests
// themselves are plain node:https, so list/watch behaviour is ours; see list-watch.ts).
//
// Order: --kubeconfig; else in-cluster, when KUBERNETES_SERVICE_HOST is set and the service-account folder has a
// token; else @kubernetes/client-node's default ($KUBECONFIG, ~/.kube/config).
//
// In-cluster credentials are read here rather than through client-node: the token and CA files are read again for
// every request (a list or a watch, a few a minute), so a token the kubelet rotates is used from the next request
// on; client-node's token-file auth keeps a token for 60 s. It also keeps the library (about 70 MB of RSS and most
// of a second to load) out of the pod.
import { KubeconfigError } from '../base/errors.js';
import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import type { ApiClient } from './api-client.js';
import { isIPv6 } from 'node:net';
import path from 'node:path';
import { readKubeconfig } from './kubeconfig.js';

export type { ApiClient } from './api-client.js';

/** Where the kubelet mounts a pod's service-account token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ApiClientOptions {
  /** Folder holding `token` and `ca.crt` (default SERVICE_ACCOUNT_DIR); overridable for tests and odd mounts. */
  serviceAccountDir?: string;
  env?: NodeJS.ProcessEnv;
}

export async function loadApiClient(kubeconfigPath: string | undefined, opts: ApiClientOptions = {}): Promise<ApiClient> {
  const env = opts.env ?? process.env;
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (!kubeconfigPath && env['KUBERNETES_SERVICE_HOST'] && fs.existsSync(path.join(dir, 'token'))) return inClusterClient(dir, env);
  // A single kubeconfig with static credentials is read directly (kubeconfig.ts); everything else goes through
  // client-node, loaded only then: the library costs ~70 MB of RSS and most of a second.
  const single = kubeconfigPath ?? (env['KUBECONFIG'] && !env['KUBECONFIG'].includes(path.delimiter) ? env['KUBECONFIG'] : undefined) ?? defaultKubeconfig(env);
  if (single && fs.existsSync(single)) {
    const direct = readKubeconfig(single);
    if (direct) return direct;
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeconfigError(`no current cluster in the kubeconfig${kubeconfigPath ? ` ${kubeconfigPath}` : ''}`);
  return {
    server: new URL(cluster.server),
    requestOptions: async () => {
      const opts: RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      return opts;
    },
  };
}

function defaultKubeconfig(env: NodeJS.ProcessEnv): string | undefined {
  if (env['KUBECONFIG']) return undefined; // several files: client-node merges them
  const home = env['HOME'];
  return home ? path.join(home, '.kube', 'config') : undefined;
}

/**
 * The pod's own identity, as client-go's rest.InClusterConfig builds it: https://$KUBERNETES_SERVICE_HOST:
 * $KUBERNETES_SERVICE_PORT, the CA in `<dir>/ca.crt`, a bearer token from `<dir>/token`. Both files are read at
 * every request (the kubelet replaces them atomically, through a symlink swap, so a read never sees half a file).
 */
export function inClusterClient(dir: string, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) throw new KubeconfigError('in-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT');
  const server = new URL(`https://${isIPv6(host) ? `[${host}]` : host}:${port}`);
  const caFile = path.join(dir, 'ca.crt');
  const tokenFile = path.join(dir, 'token');
  for (const file of [caFile, tokenFile]) {
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (err) {
      throw new KubeconfigError(`in-cluster configuration: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return {
    server,
    requestOptions: async () => {
      const [ca, token] = await Promise.all([readFile(caFile), readFile(tokenFile, 'utf8')]);
      const bearer = token.trim();
      if (bearer === '') throw new KubeconfigError(`in-cluster configuration: ${tokenFile} is empty`);
      return { ca, headers: { authorization: `Bearer ${bearer}` } };
    },
  };
}
