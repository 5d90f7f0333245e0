// What every caller of the Kubernetes API needs: where the server is and how to authenticate a request. The
// strategies that make one — the in-cluster reader and the static kubeconfig reader, then client-node — are
// chosen in client.ts; list/watch and one-off requests use only this.
import type { RequestOptions } from 'node:https';

export interface ApiClient {
  server: URL;
  /** TLS material and auth headers, fetched per request so rotated service-account tokens are picked up. */
  requestOptions(): Promise<RequestOptions>;
}
