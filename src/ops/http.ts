// The operational HTTP endpoints on CoreDNS's ports, so kind's probes and Prometheus scrape config work as they
// are: /health (liveness, :8080), /ready (readiness, :8181), /metrics (:9153), and the optional /records
// debug view. Endpoints that share an address share one server.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { http } from '../net/http-modules.js';
import type { AddressInfo } from 'node:net';
import { type ListenAddress, isLoopback } from '../net/address.js';
import { ListenError } from '../base/errors.js';

/** What /metrics serves: the text exposition format (ops/metrics.ts makes it; prom-client stays in there). */
export interface MetricsText {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface Readiness {
  ready: boolean;
  /** Lines explaining the state; on 200 they are warnings (e.g. a forwarding loop), on 503 the reasons. */
  detail: string[];
}

export interface OpsEndpoints {
  health?: ListenAddress;
  ready?: ListenAddress;
  metrics?: ListenAddress;
}

export interface OpsHandlers {
  readiness(): Readiness;
  /** Made on the first scrape: prom-client is not loaded before anyone asks for metrics. */
  registry(): Promise<MetricsText>;
  /** The /records debug view, or undefined when it is off. */
  records?: (name: string) => unknown;
}

export interface OpsServer {
  addresses: Record<keyof OpsEndpoints, string | undefined>;
  close(): Promise<void>;
}

type Route = (req: IncomingMessage, url: URL, res: ServerResponse) => void | Promise<void>;

export async function startOpsServer(endpoints: OpsEndpoints, h: OpsHandlers): Promise<OpsServer> {
  const groups = new Map<string, { addr: ListenAddress; routes: Map<string, Route>; names: Array<keyof OpsEndpoints> }>();
  const add = (name: keyof OpsEndpoints, path: string, route: Route): void => {
    const addr = endpoints[name];
    if (!addr) return;
    // Port 0 asks for a free port per endpoint; only equal non-zero addresses share a server.
    const key = addr.port === 0 ? `${name}` : `${addr.host}:${addr.port}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { addr, routes: new Map(), names: [] }));
    g.routes.set(path, route);
    g.names.push(name);
  };

  add('health', '/health', (_req, _url, res) => {
    // Alive as long as the process serves HTTP; during the lameduck period too (CoreDNS health lameduck).
    res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
  });
  add('ready', '/ready', (_req, _url, res) => {
    const r = h.readiness();
    res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' }).end([r.ready ? 'OK' : 'not ready', ...r.detail].join('\n'));
  });
  add('metrics', '/metrics', async (_req, _url, res) => {
    const registry = await h.registry();
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(body);
  });
  if (h.records) {
    const records = h.records;
    add('metrics', '/records', (req, url, res) => {
      // A debug view of cluster data: only for clients on this host (kubectl port-forward, kubectl exec).
      if (!isLoopback(req.socket.remoteAddress)) return void res.writeHead(403, { 'content-type': 'text/plain' }).end('/records answers loopback clients only');
      const name = url.searchParams.get('name');
      if (!name) return void res.writeHead(400, { 'content-type': 'text/plain' }).end('want ?name=<dns name>');
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(records(name), null, 2)}\n`);
    });
  }

  const servers: Server[] = [];
  const addresses: OpsServer['addresses'] = { health: undefined, ready: undefined, metrics: undefined };
  try {
    for (const g of groups.values()) {
      const server = await listenGroup(g);
      servers.push(server);
      const a = server.address() as AddressInfo;
      for (const n of g.names) addresses[n] = `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
    }
  } catch (err) {
    for (const s of servers) s.close();
    const e = err as NodeJS.ErrnoException;
    throw new ListenError(`cannot listen for ${[...groups.values()].map((g) => g.names.join('+')).join(', ')}: ${e.code ?? e.message}`);
  }
  return {
    addresses,
    close: () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((r) => {
              s.close(() => r());
              s.closeAllConnections();
            }),
        ),
      ).then(() => undefined),
  };
}

/** One HTTP server for the routes that share an address. */
async function listenGroup(g: { addr: ListenAddress; routes: Map<string, Route> }): Promise<Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const route = req.method === 'GET' || req.method === 'HEAD' ? g.routes.get(url.pathname) : undefined;
    if (!route) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    Promise.resolve(route(req, url, res)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String((err as Error).message));
    });
  });
  server.keepAliveTimeout = 5000;
  const listen = (host: string) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: g.addr.port, ipv6Only: false }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  if (g.addr.host !== '') await listen(g.addr.host);
  else {
    // Every address: one dual-stack socket, or IPv4 alone where the kernel has no IPv6 (as the DNS listener).
    await listen('::').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL') return listen('0.0.0.0');
      throw err;
    });
  }
  return server;
}
