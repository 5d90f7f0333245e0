// The list/watch loop against a small fake API server that can end watches, answer 410 (as a status and as
// an ERROR event), reset connections, fail lists and stall. The real API server cannot be made to do these
// on demand; the integration tests cover the happy path against it.
import { ManualClock } from '../helpers/clock.js';
import { eventually } from '../helpers/eventually.js';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterState } from '../../src/cluster/state.js';
import type { ApiObject } from '../../src/kube/convert.js';
import { DEFAULT_LIST_WATCH, ListWatch, type ListWatchOptions, decodePage } from '../../src/kube/list-watch.js';
import { silentLogger } from '../../src/base/log.js';
import { ApiSource } from '../../src/sources/api.js';
import { Backoff } from '../../src/kube/backoff.js';
import { PROTOBUF_MEDIA_TYPE } from '../../src/kube/proto-objects.js';
import { envelope, int, str } from '../helpers/proto-writer.js';

type WatchBehaviour = (res: http.ServerResponse, rv: string) => void;

class FakeApi {
  items = new Map<string, ApiObject>();
  rv = 100;
  lists = 0;
  watches: string[] = []; // resourceVersion each watch asked for
  listFailures = 0;
  /** A failed list answers with this Status message in protobuf (as the API server does for a protobuf client). */
  protobufFailure: string | undefined;
  /** Answer 406 to any request that accepts protobuf (an API server or proxy without it). */
  refuseProtobuf = false;
  /** The Accept header of each request. */
  accepts: string[] = [];
  /**
   * A watch asking for its initial events (`sendInitialEvents=true`): `stream` sends every item as ADDED and the
   * bookmark that ends them, then goes on as `next` says; `refuse` answers 422 (WatchList off); `ignore` takes it
   * for a plain watch (an API server from before the parameter).
   */
  initialEvents: 'stream' | 'refuse' | 'ignore' = 'stream';
  /** Items of the initial events written before the bookmark is held back (a cut stream), once. */
  cutInitialAfter: number | undefined;
  /** Behaviour of the next watches (a number: answer with that HTTP status), in order; default: hold open. */
  next: Array<WatchBehaviour | number> = [];
  open = new Set<http.ServerResponse>();
  server = http.createServer((req, res) => this.serve(req, res));

  async start(port = 0): Promise<string> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): void {
    for (const r of this.open) r.destroy();
    this.server.closeAllConnections();
    this.server.close();
  }

  put(name: string): ApiObject {
    const o: ApiObject = { metadata: { name, namespace: 'ns', resourceVersion: String(++this.rv) }, spec: { clusterIP: '10.0.0.1', ports: [{ port: 80 }] } };
    this.items.set(name, o);
    return o;
  }

  event(type: string, o: ApiObject): string {
    return `${JSON.stringify({ type, object: o })}\n`;
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url!, 'http://x');
    this.accepts.push(req.headers.accept ?? '');
    if (this.refuseProtobuf && (req.headers.accept ?? '').includes(PROTOBUF_MEDIA_TYPE)) {
      res.writeHead(406).end();
      return;
    }
    if (url.pathname !== '/api/v1/services') {
      // Other collections (the ApiSource watches several): empty, and watches held open.
      if (url.searchParams.get('watch') === '1') this.open.add(res.writeHead(200));
      else res.writeHead(200).end(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [] }));
      return;
    }
    if (url.searchParams.get('watch') !== '1') {
      this.lists++;
      if (this.listFailures > 0) {
        this.listFailures--;
        if (this.protobufFailure !== undefined) {
          const status = envelope('v1', 'Status', Buffer.concat([str(2, 'Failure'), str(3, this.protobufFailure), int(6, 500)]));
          res.writeHead(500, { 'content-type': PROTOBUF_MEDIA_TYPE }).end(status);
        } else res.writeHead(500).end('boom');
        return;
      }
      // Paged as the API server pages: `limit` items, and a `continue` token for the rest.
      const all = [...this.items.values()];
      const from = Number(url.searchParams.get('continue') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? all.length) || all.length;
      const next = from + limit < all.length ? String(from + limit) : undefined;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) }, items: all.slice(from, from + limit) }));
      return;
    }
    const initial = url.searchParams.get('sendInitialEvents') === 'true';
    this.watches.push(initial ? 'initial' : (url.searchParams.get('resourceVersion') ?? ''));
    if (initial && this.initialEvents === 'refuse') {
      res.writeHead(422).end('sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled');
      return;
    }
    if (initial && this.initialEvents === 'stream') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const all = [...this.items.values()];
      const cut = this.cutInitialAfter;
      this.cutInitialAfter = undefined;
      for (const o of all.slice(0, cut ?? all.length)) res.write(this.event('ADDED', o));
      if (cut !== undefined) {
        res.socket?.destroy();
        return;
      }
      res.write(this.event('BOOKMARK', { kind: 'Service', metadata: { resourceVersion: String(this.rv), annotations: { 'k8s.io/initial-events-end': 'true' } } }));
    }
    const behaviour = this.next.shift();
    if (typeof behaviour === 'number') {
      res.writeHead(behaviour).end();
      return;
    }
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/json' });
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
    if (behaviour) behaviour(res, url.searchParams.get('resourceVersion') ?? '');
  }
}

// Most tests here are about the paged listing; the streamed one (the default) has tests of its own below.
const FAST: ListWatchOptions = { minBackoffMs: 10, maxBackoffMs: 40, watchTimeoutSeconds: 1, stallMarginMs: 300, pageSize: 500, initialList: 'pages' };
const STREAM: ListWatchOptions = { ...FAST, initialList: 'stream' };


describe('ListWatch against a fake API server', () => {
  let api: FakeApi;
  let lw: ListWatch | undefined;
  let calls: string[];
  let listed: string[] = [];
  let server: string;

  beforeEach(async () => {
    api = new FakeApi();
    server = await api.start();
    calls = [];
  });
  afterEach(() => {
    lw?.stop();
    api.stop();
  });

  const startWatch = (opts = FAST): ListWatch => {
    lw = new ListWatch(
      { server: new URL(server), requestOptions: async () => ({}) },
      '/api/v1/services',
      {
        // Pages are gathered into one `replace` line per complete listing, which is what the tests assert on.
        page: (items, first, last) => {
          if (first) listed = [];
          listed.push(...[...items].map((o) => o.metadata?.name ?? ''));
          if (last) calls.push(`replace ${listed.join(',')}`);
        },
        upsert: (o) => calls.push(`upsert ${o.metadata?.name}`),
        remove: (o) => calls.push(`remove ${o.metadata?.name}`),
      },
      silentLogger,
      opts,
    );
    lw.start();
    return lw;
  };

  it('lists, then applies watch events, and re-watches at once from the last resourceVersion after a clean end', async () => {
    api.put('a');
    const b = { ...api.put('b') };
    api.next.push((res) => {
      res.write(api.event('ADDED', api.put('c')));
      res.write(api.event('DELETED', { ...b, metadata: { ...b.metadata, resourceVersion: '999' } }));
      res.end();
    });
    const w = startWatch();
    await eventually(3000, 'second watch', () => api.watches.length >= 2);
    assert.deepEqual(calls, ['replace a,b', 'upsert c', 'remove b']);
    assert.equal(api.watches[0], '102');
    assert.equal(api.watches[1], '999', 'the re-watch starts from the last event seen');
    assert.equal(api.lists, 1, 'a clean end does not relist');
    assert.equal(w.status.synced, true);
    assert.equal(w.status.restarts, 0);
  });

  it('relists on an ERROR 410 event and on HTTP 410, handing over the full new set', async () => {
    api.put('a');
    api.put('b');
    api.next.push((res) => {
      api.items.delete('b');
      res.end(api.event('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' } as ApiObject));
    });
    api.next.push((res) => {
      api.items.delete('a');
      res.end(); // a clean end, then the re-watch is answered with HTTP 410
    });
    api.next.push(410);
    startWatch();
    // Wait for the handler, not the request: the third list is counted before its reply is applied.
    await eventually(3000, 'two relists applied', () => calls.filter((c) => c.startsWith('replace')).length >= 3);
    assert.deepEqual(calls.filter((c) => c.startsWith('replace')), ['replace a,b', 'replace a', 'replace ']);
  });

  it('streams the full set as a watch\'s initial events, then watches on over the same connection', async () => {
    api.put('a');
    api.put('b');
    let open: http.ServerResponse | undefined;
    api.next.push((res) => (open = res));
    const w = startWatch(STREAM);
    await eventually(3000, 'initial events applied', () => w.status.synced && open !== undefined);
    assert.deepEqual(calls, ['replace a,b']);
    open!.write(api.event('ADDED', api.put('c')));
    await eventually(3000, 'a later event', () => calls.length >= 2);
    assert.deepEqual(calls, ['replace a,b', 'upsert c']);
    assert.equal(api.lists, 0, 'nothing listed');
    assert.deepEqual(api.watches, ['initial']);
    open!.end();
    await eventually(3000, 're-watch', () => api.watches.length >= 2);
    assert.equal(api.watches[1], String(api.rv), 'the re-watch resumes from the last event, not from the start');
  });

  it('asks again for the whole set when the initial events are cut short, removing nothing for it', async () => {
    api.put('a');
    api.put('b');
    api.put('c');
    api.cutInitialAfter = 1;
    const w = startWatch(STREAM);
    await eventually(3000, 'synced after the cut', () => w.status.synced);
    assert.deepEqual(calls, ['replace a,b,c']);
    assert.deepEqual(api.watches, ['initial', 'initial'], 'not resumed from the half set');
    assert.equal(w.status.restarts, 1);
  });

  it('lists in pages when the API server refuses (422) or ignores the initial events', async () => {
    api.put('a');
    api.initialEvents = 'refuse';
    const refused = startWatch(STREAM);
    await eventually(3000, 'listed after the 422', () => refused.status.synced);
    assert.deepEqual(calls, ['replace a']);
    assert.equal(api.lists, 1);
    assert.equal(refused.status.restarts, 0, 'a fallback, not a failure');
    refused.stop();

    // Ignored: the watch is a plain one, which ends (or bookmarks) without the mark.
    calls = [];
    api.lists = 0;
    api.initialEvents = 'ignore';
    api.next.push((res) => res.end());
    const ignored = startWatch(STREAM);
    await eventually(3000, 'listed after the plain watch ended', () => ignored.status.synced);
    assert.deepEqual(calls, ['replace a']);
    assert.equal(api.lists, 1);
    assert.equal(api.watches.filter((w) => w === 'initial').length, 2, 'each ListWatch asks for the initial events once, then lists in pages');
    ignored.stop();

    calls = [];
    api.lists = 0;
    api.next.push((res) => res.write(api.event('BOOKMARK', { kind: 'Service', metadata: { resourceVersion: '5' } })));
    const bookmarked = startWatch(STREAM);
    await eventually(3000, 'listed after an unmarked bookmark', () => bookmarked.status.synced);
    assert.deepEqual(calls, ['replace a']);
    assert.equal(api.lists, 1);
  });

  it('reads a paged list page by page and hands over the whole set', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) api.put(n);
    startWatch({ ...FAST, pageSize: 2 });
    await eventually(3000, 'list applied', () => calls.length >= 1);
    assert.deepEqual(calls, ['replace a,b,c,d,e']);
    assert.equal(api.lists, 3, 'three pages of at most two');
  });

  it('restarts with backoff after a connection reset, without relisting', async () => {
    api.put('a');
    api.next.push((res) => res.socket?.destroy());
    const w = startWatch();
    await eventually(3000, 'watch after reset', () => api.watches.length >= 2);
    assert.equal(w.status.restarts, 1);
    assert.equal(api.lists, 1);
    assert.equal(api.watches[1], api.watches[0]);
  });

  it('keeps retrying a failing list and is not synced until one succeeds', async () => {
    api.put('a');
    api.listFailures = 3;
    const w = startWatch();
    await eventually(3000, 'a retry', () => api.lists >= 2);
    assert.equal(w.status.synced, false);
    assert.match(w.status.lastError ?? '', /HTTP 500/);
    await eventually(3000, 'sync after failures', () => w.status.synced);
    assert.equal(api.lists, 4);
    assert.deepEqual(calls, ['replace a']);
  });

  it('backs off on the clock between failed lists: nothing until the backoff has passed, doubling up to the cap', async () => {
    api.put('a');
    api.listFailures = 3;
    const clock = new ManualClock();
    const w = startWatch({ ...FAST, minBackoffMs: 1000, maxBackoffMs: 1500, clock });
    await eventually(3000, 'the first list', () => api.lists === 1 && clock.pending === 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(api.lists, 1, 'no retry while the clock stands still');
    clock.advance(1000); // the first delay is 500-1000 ms (jitter)
    await eventually(3000, 'the second list', () => api.lists === 2 && clock.pending === 1);
    clock.advance(1500); // then 750-1500, then capped
    await eventually(3000, 'the third list', () => api.lists === 3 && clock.pending === 1);
    clock.advance(1500);
    await eventually(3000, 'synced', () => w.status.synced);
    assert.equal(api.lists, 4);
  });

  it('asks for protobuf first, and takes JSON from then on when the API server refuses it with 406', async () => {
    api.refuseProtobuf = true;
    api.put('a');
    const w = startWatch();
    await w.whenSynced();
    await eventually(3000, 'watching', () => api.watches.length >= 1);
    assert.deepEqual(calls, ['replace a']);
    assert.match(api.accepts[0]!, /^application\/vnd\.kubernetes\.protobuf, application\/json$/);
    assert.deepEqual(api.accepts.slice(1), api.accepts.slice(1).map(() => 'application/json'), 'JSON only after the 406');
    assert.equal(w.status.encoding, 'json');
    assert.equal(w.status.restarts, 0, 'a 406 is not a failure');
  });

  it('reads a protobuf error body as its Status message', async () => {
    api.listFailures = 1;
    api.protobufFailure = 'etcdserver: request timed out';
    api.put('a');
    const w = startWatch();
    await w.whenSynced();
    assert.equal(w.status.lastError, 'GET /api/v1/services: HTTP 500 etcdserver: request timed out');
  });

  it('detects a stalled watch (no bytes past its timeout) and restarts it', async () => {
    api.put('a');
    api.next.push(() => {}); // never writes, never ends
    const w = startWatch({ ...FAST, watchTimeoutSeconds: 0.2, stallMarginMs: 200 });
    await eventually(3000, 'restart after stall', () => api.watches.length >= 2);
    assert.equal(w.status.restarts, 1);
    assert.match(w.status.lastError ?? '', /no data/);
  });
});

describe('Backoff', () => {
  it('doubles from the minimum to the cap, each wait jittered into [d/2, d], and starts over on reset', () => {
    const low = new Backoff(500, 30_000, () => 0);
    const high = new Backoff(500, 30_000, () => 1);
    const lows = Array.from({ length: 9 }, () => low.next());
    const highs = Array.from({ length: 9 }, () => high.next());
    assert.deepEqual(highs, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    assert.deepEqual(lows, highs.map((d) => d / 2));
    low.reset();
    assert.equal(low.next(), 250);
  });
});

describe('ListWatch during an API outage (fake time)', () => {
  // The API server goes away for 60 s (connections refused), then comes back on the same port. Real sockets,
  // fake time: each step moves the clock 100 ms, then lets the loopback connection attempts settle.
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 3));
  const quietWatch = (server: string, clock: ManualClock): ListWatch => {
    const lw = new ListWatch(
      { server: new URL(server), requestOptions: async () => ({}) },
      '/api/v1/services',
      { page: () => {}, upsert: () => {}, remove: () => {} },
      silentLogger,
      { ...DEFAULT_LIST_WATCH, clock },
    );
    lw.start();
    return lw;
  };
  const runFor = async (clock: ManualClock, ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      await settle();
    }
  };

  it('restarts at most ~20 times in a 60 s outage, and is watching again within 2 s of the API coming back', async () => {
    let api = new FakeApi();
    const server = await api.start();
    const port = Number(new URL(server).port);
    api.put('a');
    const clock = new ManualClock();
    const lw = quietWatch(server, clock);
    try {
      await eventually(3000, 'first watch', () => api.watches.length === 1);
      api.stop();
      await runFor(clock, 60_000);
      const during = lw.status.restarts;
      assert.ok(during >= 3 && during <= 20, `restarts during the outage: ${during}`);
      api = new FakeApi();
      await api.start(port);
      let waited = 0;
      while (api.watches.length === 0 && waited < 5000) {
        clock.advance(100);
        waited += 100;
        await settle();
        await settle();
      }
      assert.equal(api.watches.length, 1, 'watching again');
      assert.ok(waited <= 2000, `recovered after ${waited} ms`);
      assert.equal(lw.status.restarts, during, 'no failure once the API is back');
    } finally {
      lw.stop();
      api.stop();
    }
  });

  it('does not let the probe cut the backoff short while the API answers but drops every watch', async () => {
    const api = new FakeApi();
    const server = await api.start();
    api.put('a');
    for (let i = 0; i < 1000; i++) api.next.push((res) => res.socket?.destroy());
    const clock = new ManualClock();
    const lw = quietWatch(server, clock);
    try {
      await eventually(3000, 'first watch', () => api.watches.length >= 1);
      await runFor(clock, 60_000);
      assert.ok(lw.status.restarts <= 20, `restarts: ${lw.status.restarts}`);
      assert.ok(lw.status.probes > 0, 'probed while waiting');
    } finally {
      lw.stop();
      api.stop();
    }
  });
});

describe('ApiSource relist', () => {
  it('removes objects that vanished while the watch was down, keeps the rest', async () => {
    const api = new FakeApi();
    const server = await api.start();
    api.put('a');
    api.put('b');
    api.next.push((res) => {
      api.items.delete('a');
      res.end(api.event('ERROR', { kind: 'Status', code: 410 } as ApiObject));
    });
    const state = new ClusterState();
    const source = new ApiSource({ server: new URL(server), requestOptions: async () => ({}) }, state, silentLogger, { kinds: ['Namespace', 'Service', 'EndpointSlice'], listWatch: FAST });
    // Only the services watch matters here; the others list empty collections from the same fake.
    source.start();
    try {
      await eventually(3000, 'relist applied', () => source.synced() && api.lists >= 2 && !state.services.has('ns/a'));
      assert.deepEqual([...state.services.keys()], ['ns/b']);
    } finally {
      source.stop();
      api.stop();
    }
  });
});

describe('decodePage', () => {
  it('names the path and the reason of a page that does not decode, never an empty page', () => {
    assert.throws(() => decodePage('/api/v1/services', '{"items":[{"metadata":'), /GET \/api\/v1\/services: undecodable list page \(22 bytes\): /);
    assert.throws(() => decodePage('/api/v1/services', '{"items":{"a":1}}'), /GET \/api\/v1\/services: list page is not a list/);
    assert.throws(() => decodePage('/api/v1/services', 'null'), /not a list/);
    assert.deepEqual(decodePage('/api/v1/services', '{"metadata":{"resourceVersion":"7","continue":""},"items":[]}'), { items: [], count: 0, resourceVersion: '7', continue: undefined });
  });
});
