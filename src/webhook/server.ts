// The webhook's HTTPS endpoint: POST /mutate (one AdmissionReview per request, handled by admit.ts), GET
// /healthz (the process answers) and GET /readyz (the Services have been read once). Plumbing only: bodies are
// capped, and the TLS pair can be swapped while connections are open.
import type { AddressInfo } from 'node:net';
import { https } from '../net/http-modules.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../base/log.js';
import type { HttpAnswer } from './admit.js';
import { errorResponse } from './review.js';
import type { TlsPair } from './tls-files.js';

/**
 * A review carries one Pod, which the API server caps at 3 MiB per request (and etcd at 1.5 MiB per object);
 * anything larger is not a review from it.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface WebhookServerOptions {
  host: string;
  port: number;
  tls: TlsPair;
  review(body: Buffer): HttpAnswer;
  ready(): boolean;
  log: Logger;
  maxBodyBytes?: number;
  /** Prometheus text for GET /metrics (the admission counters and process metrics). */
  metrics?: { text(): Promise<string>; contentType: string };
}

export interface WebhookServer {
  address: AddressInfo;
  setTls(pair: TlsPair): void;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? `${body}\n` : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'content-length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

function tooLarge(res: ServerResponse, limit: number): void {
  // Stop reading and close: draining a huge body would only cost us.
  send(res, 400, errorResponse(undefined, 400, `body larger than ${limit} bytes`), { connection: 'close' });
}

function mutate(req: IncomingMessage, res: ServerResponse, opts: WebhookServerOptions, limit: number): void {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) return tooLarge(res, limit);
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  req.on('data', (chunk: Buffer) => {
    if (done) return;
    size += chunk.length;
    if (size > limit) {
      done = true;
      tooLarge(res, limit);
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (done) return;
    done = true;
    const answer = opts.review(Buffer.concat(chunks));
    send(res, answer.status, answer.body);
  });
  req.on('error', (err) => opts.log.debug('request body failed', { error: err.message }));
}

export async function listenWebhook(opts: WebhookServerOptions): Promise<WebhookServer> {
  const limit = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const server = https.createServer(
    {
      cert: opts.tls.cert,
      key: opts.tls.key,
      minVersion: 'TLSv1.2',
      // The API server's call times out within 30 s (timeoutSeconds ≤ 30); a slower request is not one of its own.
      requestTimeout: 30_000,
      headersTimeout: 10_000,
    },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://webhook'); // the API server appends ?timeout=10s
      const route = `${req.method} ${url.pathname}`;
      try {
        if (route === 'POST /mutate') return mutate(req, res, opts, limit);
        if (route === 'GET /healthz') return send(res, 200, 'ok');
        if (route === 'GET /metrics' && opts.metrics) {
          const m = opts.metrics;
          void m.text().then(
            (text) => res.writeHead(200, { 'content-type': m.contentType }).end(text),
            (err: unknown) => send(res, 500, String((err as Error).message)),
          );
          return;
        }
        if (route === 'GET /readyz') return opts.ready() ? send(res, 200, 'ok') : send(res, 503, 'not ready: Services not read yet');
        if (['/mutate', '/healthz', '/readyz', '/metrics'].includes(url.pathname)) return send(res, 405, 'method not allowed', { allow: url.pathname === '/mutate' ? 'POST' : 'GET' });
        return send(res, 404, 'not found');
      } catch (err) {
        opts.log.error('request failed', { route, error: err });
        if (!res.headersSent) send(res, 500, 'internal error');
      }
    },
  );
  server.on('tlsClientError', (err) => opts.log.debug('TLS handshake failed', { error: err.message }));
  server.on('clientError', (err, socket) => {
    opts.log.debug('bad HTTP request', { error: err.message });
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host === '' ? '::' : opts.host === 'localhost' ? '127.0.0.1' : opts.host, port: opts.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    setTls: (pair) => server.setSecureContext({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
