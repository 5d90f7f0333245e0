// A small JSON client for the test API server on raw HTTPS (keep-alive, the admin client certificate), and a
// bounded-concurrency runner. Creating tens of thousands of objects this way is several times faster than going
// through @kubernetes/client-node, whose per-request overhead (auth plugins, model serialisation) dominates.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { ControlPlane } from '../test/cluster/control-plane.js';

export class ApiError extends Error {
  constructor(readonly status: number, method: string, path: string, body: string) {
    super(`${method} ${path}: HTTP ${status}: ${body.slice(0, 300)}`);
  }
}

export class Api {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(cp: Pick<ControlPlane, 'server' | 'pki'>, maxSockets = 64) {
    const url = new URL(cp.server);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new Agent({
      keepAlive: true,
      maxSockets,
      ca: readFileSync(cp.pki.caCert),
      cert: readFileSync(cp.pki.adminCert),
      key: readFileSync(cp.pki.adminKey),
    });
  }

  /** Sends a JSON request; resolves with the parsed reply, rejects with ApiError on a status ≥ 300. */
  call<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: this.agent,
          timeout: 60_000,
          headers: {
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': payload.length }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 300) return reject(new ApiError(status, method, path, text));
            try {
              resolve((text === '' ? undefined : JSON.parse(text)) as T);
            } catch (err) {
              reject(err as Error);
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no reply within 60 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `task(i)` for i in [0, count) with at most `limit` in flight; rejects on the first failure. */
export async function forEachLimited(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < count) {
      const i = next++;
      try {
        await task(i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  if (failed !== undefined) throw failed;
}
