// A list/watch loop for one resource that never silently dies (client-node's informer stops on any non-410
// error and can back off 30 s on a quiet cluster; see ARCHITECTURE.md, Libraries). Rules:
//  - the full set comes as a watch's initial events (`sendInitialEvents`, as client-go's reflector does since
//    Kubernetes 1.35): one stream from the API server's watch cache, objects applied one by one, complete at the
//    bookmark marked `k8s.io/initial-events-end`, and the same connection watches on. An API server that refuses
//    it (400/422, the WatchList feature off) or ignores it (a watch that ends, or bookmarks, before the mark) is
//    listed in pages from then on (`initialList: 'pages'`, --api-initial-list pages, does so from the start);
//  - else list (paginated), hand the full set over, then watch from the list's resourceVersion with bookmarks;
//  - a watch that ends cleanly (server timeout) is re-opened at once from the last resourceVersion;
//  - 410 Gone (as a status or an ERROR event) means our resourceVersion is too old: relist, which removes
//    objects that vanished meanwhile;
//  - any other failure restarts after an exponential backoff with jitter (0.5 s → 30 s, backoff.ts), reset only
//    by a success that proves the API healthy (a complete list, a watch that delivered an event, ended cleanly
//    or stayed open a while), so an API server that accepts watches and drops them at once is not hammered;
//  - while waiting after a failure that could not reach the API, a cheap probe (GET /readyz, about once a
//    second) notices the API server coming back and ends the wait, so a long outage costs few restarts (the
//    herd a recovering API server sees) and recovery still takes about a second. The probe only shortens a
//    wait once it has seen the API unreachable: a reachable API that fails our requests keeps the backoff;
//  - a watch that goes quiet past its own server-side timeout plus a margin is a stalled connection: aborted
//    and restarted;
//  - lists and watches ask for protobuf first, as client-go does for the built-in kinds, and take JSON when
//    that is what the API server answers (decided per response by its Content-Type); a 406 turns protobuf off
//    for this watch. See proto-objects.ts for why protobuf.
// The last known objects stay in the state throughout: nothing is removed except by a relist or a DELETED event.
import { type Clock, systemClock } from '../base/clock.js';
import { Latch } from '../base/latch.js';
import { Backoff } from './backoff.js';
import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import { http, https } from '../net/http-modules.js';
import type { Logger } from '../base/log.js';
import type { ApiClient } from './api-client.js';
import type { ApiObject } from './convert.js';
import { decodeListPage, decodeWatchEvent, FrameReader, PROTOBUF_MEDIA_TYPE, statusMessage } from './proto-objects.js';

export interface WatchHandlers {
  /**
   * One page of a (re)list, applied as it arrives so a large cluster is never held twice in memory; `last` says
   * the listing is complete (objects not seen in any page since `first` are gone). A listing that fails half way
   * never reaches `last`, so nothing is removed on its account. A protobuf page decodes each item as it is
   * iterated (see ListPage), so iterating may throw: that fails the listing like a page that does not decode.
   */
  page(items: Iterable<ApiObject>, first: boolean, last: boolean): void;
  upsert(o: ApiObject): void;
  remove(o: ApiObject): void;
}

export interface ListWatchOptions {
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Server-side watch timeout; each watch gets this plus up to 50% jitter so watches do not reconnect in step. */
  watchTimeoutSeconds: number;
  /** Extra silence tolerated after the server should have closed the watch. */
  stallMarginMs: number;
  pageSize: number;
  fieldSelector?: string;
  /** Backoff and event times (tests pass a fake one). */
  clock?: Clock;
  /** How often the API is probed while waiting after an unreachable failure (jittered ±25%); default 1000. */
  probeIntervalMs?: number;
  /** A watch open this long without failing counts as a success that resets the backoff; default 10000. */
  healthyWatchMs?: number;
  /** `protobuf` asks for protobuf and accepts JSON; `json` asks for JSON only (--api-encoding). */
  encoding?: ApiEncoding;
  /** How the full set is read: `stream` (a watch's initial events; the default) or `pages` (--api-initial-list). */
  initialList?: InitialList;
}

export type InitialList = 'stream' | 'pages';

/** The annotation of the bookmark that ends a watch's initial events. */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

export type ApiEncoding = 'protobuf' | 'json';

export const DEFAULT_LIST_WATCH: ListWatchOptions = {
  minBackoffMs: 500,
  maxBackoffMs: 30_000,
  watchTimeoutSeconds: 60,
  stallMarginMs: 30_000,
  // Pages of about 0.5 MB of JSON: a page's text and its parsed objects are what the first listing holds at
  // once, and V8 keeps the heap it grew for them. Measured at 10,000 Services: RSS at ready 181-192 MiB with
  // 2000 a page, 166-171 MiB with 500, for the same sync time (the next page is fetched while one is applied).
  pageSize: 500,
  encoding: 'protobuf',
  initialList: 'stream',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

class Gone extends Error {}

/** Errors that mean the API server could not be reached at all (nothing listening, no route, DNS). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);

function unreachable(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined && UNREACHABLE.has(code);
}

export interface ListWatchStatus {
  synced: boolean;
  /** Listed and watching (or about to re-open a watch that ended cleanly); false from a failure to the next list or watch. */
  connected: boolean;
  restarts: number;
  relists: number;
  /** Reachability probes sent while waiting to retry. */
  probes: number;
  lastEventAt: number | undefined;
  lastError: string | undefined;
  /** The encoding of the last list page or watch the API server sent (undefined before the first). */
  encoding: ApiEncoding | undefined;
  /** How the last full set came: as a watch's initial events, or in list pages (undefined before the first). */
  initialList: InitialList | undefined;
}

export class ListWatch {
  private resourceVersion: string | undefined;
  private stopped = false;
  private current: ClientRequest | undefined;
  private wake: (() => void) | undefined;
  /** Set by the current watch once it has shown the API healthy (see the header). */
  private watchHealthy = false;
  private readonly synced = new Latch();
  readonly status: ListWatchStatus = { synced: false, connected: false, restarts: 0, relists: 0, probes: 0, lastEventAt: undefined, lastError: undefined, encoding: undefined, initialList: undefined };
  private readonly agent: Agent;
  /** Set by --api-encoding json, or by an API server that refused protobuf with 406. */
  private jsonOnly: boolean;
  /** The full set as a watch's initial events; off by --api-initial-list pages, or once the API server shows it cannot. */
  private streamList: boolean;
  /** While a watch's initial events arrive: whether the next is the first, and how many came. */
  private initial: { first: boolean; objects: number } | undefined;

  constructor(
    private readonly client: ApiClient,
    /** Collection path, e.g. /api/v1/services or /apis/discovery.k8s.io/v1/endpointslices. */
    readonly path: string,
    private readonly handlers: WatchHandlers,
    private readonly log: Logger,
    private readonly opts: ListWatchOptions = DEFAULT_LIST_WATCH,
  ) {
    this.agent = client.server.protocol === 'http:' ? new http.Agent({ keepAlive: true }) : new https.Agent({ keepAlive: true });
    this.jsonOnly = opts.encoding === 'json';
    this.streamList = (opts.initialList ?? 'stream') === 'stream';
  }

  start(): void {
    void this.run();
  }

  /** Resolves once the first full list has been applied. */
  whenSynced(): Promise<void> {
    return this.synced.promise;
  }

  stop(): void {
    this.stopped = true;
    this.current?.destroy();
    this.wake?.();
    this.agent.destroy();
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(this.opts.minBackoffMs, this.opts.maxBackoffMs);
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined && !this.streamList) {
          await this.list();
          backoff.reset();
        }
        if (await this.watch()) backoff.reset();
      } catch (err) {
        if (this.stopped) return;
        this.status.connected = false;
        if (err instanceof Gone) {
          this.log.info('resourceVersion expired (410); relisting', { path: this.path });
          this.resourceVersion = undefined;
          continue;
        }
        if (this.watchHealthy) backoff.reset();
        this.status.restarts++;
        this.status.lastError = (err as Error).message;
        const delay = backoff.next();
        // An HTTP answer proves the API reachable: probing would only cut the backoff short.
        const probe = !(err instanceof HttpError);
        this.log.warn('list/watch failed; retrying', { path: this.path, error: (err as Error).message, retryInMs: Math.round(delay) });
        await this.pause(delay, probe, unreachable(err));
      }
    }
  }

  /**
   * Waits `ms`, or less when `probe` is set and the API server is seen coming back: a probe that succeeds after
   * the API was seen unreachable (by the failed attempt itself, or by an earlier probe) ends the wait.
   */
  private async pause(ms: number, probe: boolean, seenDown: boolean): Promise<void> {
    const until = this.clock.now() + ms;
    const every = this.opts.probeIntervalMs ?? 1000;
    for (;;) {
      const left = until - this.clock.now();
      if (left <= 0 || this.stopped) return;
      if (!probe) return this.sleep(left);
      await this.sleep(Math.min(left, every * (0.75 + Math.random() / 2)));
      if (this.stopped || this.clock.now() >= until) return;
      const up = await this.reachable();
      if (!up) seenDown = true;
      else if (seenDown) {
        this.log.info('API server reachable again; retrying now', { path: this.path });
        return;
      }
    }
  }

  /** One cheap request: any answer below 500 (even 401/403) says the API server is up and serving. */
  private async reachable(): Promise<boolean> {
    this.status.probes++;
    try {
      const res = await this.request('/readyz', 2000);
      res.resume();
      return true;
    } catch (err) {
      return err instanceof HttpError && err.status < 500;
    }
  }

  private get clock(): Clock {
    return this.opts.clock ?? systemClock;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.clock.after(ms, resolve);
      this.wake = () => {
        cancel();
        resolve();
      };
    });
  }

  private query(params: Record<string, string | undefined>): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
    if (this.opts.fieldSelector) q.set('fieldSelector', this.opts.fieldSelector);
    return `${this.path}?${q.toString()}`;
  }

  private async request(pathAndQuery: string, timeoutMs: number): Promise<IncomingMessage> {
    const base = await this.client.requestOptions();
    const url = new URL(pathAndQuery, this.client.server);
    const mod = url.protocol === 'http:' ? http : https;
    const accept = this.jsonOnly ? 'application/json' : `${PROTOBUF_MEDIA_TYPE}, application/json`;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = mod.request(url, { ...base, method: 'GET', agent: this.agent, headers: { ...(base.headers ?? {}), accept } }, (res) => {
        const status = res.statusCode ?? 0;
        if (status === 410) {
          res.resume();
          reject(new Gone());
        } else if (status !== 200 && !(status === 406 && !this.jsonOnly)) {
          const chunks: Buffer[] = [];
          let length = 0;
          res.on('data', (c: Buffer) => {
            if (length < 4096) chunks.push(c);
            length += c.length;
          });
          res.on('end', () => reject(new HttpError(status, `GET ${url.pathname}: HTTP ${status} ${errorText(res, Buffer.concat(chunks))}`)));
          res.on('error', reject);
        } else {
          resolve(res);
        }
      });
      this.current = req;
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url.pathname}: no data for ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
    if (res.statusCode === 406) {
      res.resume();
      this.jsonOnly = true;
      this.log.info('the API server refused protobuf (406); using JSON', { path: this.path });
      return this.request(pathAndQuery, timeoutMs);
    }
    return res;
  }

  private async list(): Promise<void> {
    let rv: string | undefined;
    let first = true;
    let objects = 0;
    const fetchPage = async (cont: string | undefined): Promise<ListPage> => {
      const res = await this.request(this.query({ limit: String(this.opts.pageSize), continue: cont }), 60_000);
      const body = await readAll(res);
      this.status.encoding = isProtobuf(res) ? 'protobuf' : 'json';
      return this.status.encoding === 'protobuf' ? decodeProtobufPage(this.path, body) : decodePage(this.path, body.toString('utf8'));
    };
    let next: Promise<ListPage> | undefined = fetchPage(undefined);
    while (next) {
      const page: ListPage = await next;
      rv = page.resourceVersion;
      // The next page is asked for before this one is applied, so the API server prepares it meanwhile.
      next = page.continue ? fetchPage(page.continue) : undefined;
      next?.catch(() => undefined); // awaited on the next turn; a failure there must not count as unhandled now
      if (this.stopped) return;
      objects += page.count;
      this.handlers.page(page.items, first, next === undefined);
      first = false;
    }
    this.resourceVersion = rv;
    this.listed(objects, 'pages');
  }

  /** A full set has been handed over (by pages or by initial events): synced, and watching from here on. */
  private listed(objects: number, how: InitialList): void {
    this.status.relists++;
    this.status.initialList = how;
    this.status.lastEventAt = this.clock.now();
    this.status.connected = true;
    if (!this.status.synced) this.log.info('initial list done', { path: this.path, objects, encoding: this.status.encoding, as: how });
    this.status.synced = true;
    this.synced.open();
  }

  /** Lists in pages from now on (the API server cannot stream the initial events); logged once. */
  private noStreaming(why: string): void {
    this.streamList = false;
    this.initial = undefined;
    this.log.info('the API server does not stream initial events; listing in pages', { path: this.path, why });
  }

  /**
   * Resolves when the server ends the watch (true), or at once (false) when a watch for the initial events shows
   * the API server cannot stream them; rejects on failure, with Gone for 410. Without a resourceVersion it asks
   * for the initial events first (see the header).
   */
  private async watch(): Promise<boolean> {
    const timeoutSeconds = Math.round(this.opts.watchTimeoutSeconds * (1 + Math.random() / 2));
    this.watchHealthy = false;
    const initial = this.resourceVersion === undefined;
    const query = initial
      ? { watch: '1', sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) }
      : { watch: '1', resourceVersion: this.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) };
    let res: IncomingMessage;
    try {
      res = await this.request(this.query(query), timeoutSeconds * 1000 + this.opts.stallMarginMs);
    } catch (err) {
      // 400/422: the parameters are refused (WatchList off, or an API server from before it had them).
      if (initial && err instanceof HttpError && (err.status === 400 || err.status === 422)) {
        this.noStreaming(err.message);
        return false;
      }
      throw err;
    }
    this.initial = initial ? { first: true, objects: 0 } : undefined;
    this.status.connected = true;
    const healthyAfter = this.clock.after(this.opts.healthyWatchMs ?? 10_000, () => (this.watchHealthy = true), { unref: true });
    const protobuf = isProtobuf(res);
    this.status.encoding = protobuf ? 'protobuf' : 'json';
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      const frames = new FrameReader();
      let failed = false;
      const fail = (err: Error): void => {
        if (failed) return;
        failed = true;
        res.destroy();
        reject(err);
      };
      if (!protobuf) res.setEncoding('utf8');
      res.on('data', (chunk: string | Buffer) => {
        if (typeof chunk !== 'string') {
          let events: Buffer[];
          try {
            events = frames.push(chunk);
          } catch (err) {
            return fail(new Error(`GET ${this.path}: ${(err as Error).message}`));
          }
          for (const frame of events) if (!failed) this.protobufEvent(frame, fail);
          return;
        }
        buffered += chunk;
        let nl: number;
        while (!failed && (nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.substring(0, nl).trim();
          buffered = buffered.substring(nl + 1);
          if (line) this.event(line, fail);
        }
      });
      res.on('end', () => (failed ? undefined : resolve()));
      res.on('error', fail);
      res.on('close', () => (failed ? undefined : res.complete ? resolve() : fail(new Error('watch connection closed'))));
    }).finally(healthyAfter);
    // Ended cleanly before the bookmark that closes the initial events: the API server took it for a plain watch.
    if (this.initial !== undefined) {
      this.noStreaming('the watch ended before its initial events did');
      return false;
    }
    return true;
  }

  private event(line: string, fail: (err: Error) => void): void {
    let ev: WatchEvent;
    try {
      ev = JSON.parse(line) as WatchEvent;
    } catch {
      return fail(new Error(`undecodable watch event: ${line.slice(0, 120)}`));
    }
    this.apply(ev, fail);
  }

  private protobufEvent(frame: Buffer, fail: (err: Error) => void): void {
    let ev: WatchEvent;
    try {
      ev = decodeWatchEvent(frame);
    } catch (err) {
      return fail(new Error(`GET ${this.path}: undecodable protobuf watch event (${frame.length} bytes): ${(err as Error).message}`));
    }
    this.apply(ev, fail);
  }

  private apply(ev: WatchEvent, fail: (err: Error) => void): void {
    const o = ev.object;
    if (!o) return;
    if (ev.type === 'ERROR') return fail(o.code === 410 ? new Gone() : new Error(`watch ERROR event: ${o.code} ${o.message ?? ''}`));
    if (this.initial !== undefined) return this.initialEvent(ev.type, o, fail);
    const rv = o.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    this.status.lastEventAt = this.clock.now();
    this.watchHealthy = true;
    try {
      if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.handlers.upsert(o);
      else if (ev.type === 'DELETED') this.handlers.remove(o);
    } catch (err) {
      // One object the conversion rejects must not stop the watch or lose other records.
      this.log.warn('object ignored', { path: this.path, object: `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, error: (err as Error).message });
    }
  }

  /**
   * One of a watch's initial events: handed over as a one-object page (the first resets what the listing has
   * seen), the resourceVersion left alone until the closing bookmark (a watch cut short is asked for again
   * whole, not resumed from half a set), then the full set is complete.
   */
  private initialEvent(type: string | undefined, o: ApiObject, fail: (err: Error) => void): void {
    const initial = this.initial!;
    this.status.lastEventAt = this.clock.now();
    if (type === 'BOOKMARK') {
      if (o.metadata?.annotations?.[INITIAL_EVENTS_END] !== 'true') return this.noStreamingNow(fail);
      this.initial = undefined;
      this.resourceVersion = o.metadata?.resourceVersion;
      this.watchHealthy = true;
      try {
        this.handlers.page([], initial.first, true);
      } catch (err) {
        return fail(err as Error);
      }
      return this.listed(initial.objects, 'stream');
    }
    if (type !== 'ADDED' && type !== 'MODIFIED') return;
    try {
      this.handlers.page([o], initial.first, false);
    } catch (err) {
      return fail(err as Error);
    }
    initial.first = false;
    initial.objects++;
  }

  /** A bookmark without the mark: the API server ignored sendInitialEvents. Lists in pages, now. */
  private noStreamingNow(fail: (err: Error) => void): void {
    this.noStreaming('a bookmark came before the initial events ended');
    fail(new Error(`GET ${this.path}: the watch sent no end of its initial events; listing in pages`));
  }
}

interface WatchEvent {
  type?: string;
  object?: ApiObject & { code?: number; message?: string };
}

interface ListPage {
  /**
   * JSON: the parsed array. Protobuf: each item decoded when the iteration reaches it, so its JSON-shaped copy is
   * garbage as soon as it is converted, while still young; a page decoded whole would live across the wait for
   * the next page, be promoted, and leave the old generation to collect (measured: see docs/kubernetes-api.md).
   */
  items: Iterable<ApiObject>;
  count: number;
  resourceVersion: string | undefined;
  continue: string | undefined;
}

/**
 * One list page's body. A page that does not decode fails the listing with where and why (the list is retried
 * with backoff), never a page quietly taken as empty: its objects would be missing records.
 */
export function decodePage(path: string, body: string): ListPage {
  let list: { items?: unknown; metadata?: { resourceVersion?: string; continue?: string } };
  try {
    list = JSON.parse(body) as typeof list;
  } catch (err) {
    throw new Error(`GET ${path}: undecodable list page (${body.length} bytes): ${(err as Error).message}`);
  }
  if (list === null || typeof list !== 'object' || (list.items !== undefined && list.items !== null && !Array.isArray(list.items))) {
    throw new Error(`GET ${path}: list page is not a list: ${body.slice(0, 120)}`);
  }
  const items = (list.items ?? []) as ApiObject[];
  return { items, count: items.length, resourceVersion: list.metadata?.resourceVersion, continue: list.metadata?.continue || undefined };
}

/**
 * A protobuf list page, failing as decodePage does: with the path, the size and where it broke. Its framing
 * (envelope, list metadata, each item's bounds) is checked here; the items' contents when iterated.
 */
export function decodeProtobufPage(path: string, body: Buffer): ListPage {
  const failed = (err: unknown): Error => new Error(`GET ${path}: undecodable protobuf list page (${body.length} bytes): ${(err as Error).message}`);
  let page: ReturnType<typeof decodeListPage>;
  try {
    page = decodeListPage(body);
  } catch (err) {
    throw failed(err);
  }
  const items: Iterable<ApiObject> = {
    *[Symbol.iterator]() {
      for (let i = 0; i < page.count; i++) {
        try {
          yield page.item(i);
        } catch (err) {
          throw failed(err);
        }
      }
    },
  };
  return { items, count: page.count, resourceVersion: page.resourceVersion, continue: page.continue };
}

function isProtobuf(res: IncomingMessage): boolean {
  return (res.headers['content-type'] ?? '').startsWith(PROTOBUF_MEDIA_TYPE);
}

/** An error body as text: a protobuf Status's message, or the start of a JSON or text body. */
function errorText(res: IncomingMessage, body: Buffer): string {
  const message = isProtobuf(res) ? statusMessage(body) : undefined;
  return (message ?? body.toString('utf8', 0, 300)).trim();
}

/** The body as one flat buffer: chunks joined once (a string built chunk by chunk is a rope JSON.parse must flatten first). */
function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}
