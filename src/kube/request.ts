// One JSON request to the API server (the watches have their own loop in list-watch.ts). Used by commands run
// from a user's machine, e.g. `cluster-dns certs --patch-webhook`; the servers themselves never write.
import { ApiRequestError } from '../base/errors.js';
export { ApiRequestError };
import { http, https } from '../net/http-modules.js';
import type { ApiClient } from './api-client.js';


export async function apiRequest(client: ApiClient, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
  const opts = await client.requestOptions();
  const url = new URL(path, client.server);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const lib = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      {
        ...opts,
        method,
        headers: { ...(opts.headers as Record<string, string> | undefined), accept: 'application/json', ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}) },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text for the message
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(parsed);
          const message = (parsed as { message?: string } | undefined)?.message ?? text.trim();
          reject(new ApiRequestError(status, `${method} ${url.pathname}: HTTP ${status}: ${message}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer within 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}
