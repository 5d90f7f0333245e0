// Connection to the API server. @kubernetes/client-node loads the kubeconfig (in-cluster service account,
// $KUBECONFIG, ~/.kube/config, exec and token-file auth) and gives us TLS and auth options per request;
// the requests themselves are plain node:https, so list/watch behaviour is ours (see list-watch.ts).
import fs from 'node:fs';
import type { RequestOptions } from 'node:https';

export interface ApiClient {
  server: URL;
  /** TLS material and auth headers, fetched per request so rotated service-account tokens are picked up. */
  requestOptions(): Promise<RequestOptions>;
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export async function loadApiClient(kubeconfigPath: string | undefined): Promise<ApiClient> {
  // Loaded only when the API source is used: the library costs ~70 MB of RSS and most of a second.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else if (process.env['KUBERNETES_SERVICE_HOST'] && fs.existsSync(IN_CLUSTER_TOKEN)) kc.loadFromCluster();
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`no current cluster in the kubeconfig${kubeconfigPath ? ` ${kubeconfigPath}` : ''}`);
  return {
    server: new URL(cluster.server),
    requestOptions: async () => {
      const opts: RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      return opts;
    },
  };
}
