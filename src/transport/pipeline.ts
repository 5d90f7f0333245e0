// Bytes in, bytes out: decode → handler chain → encode, shared by the UDP and TCP listeners. Never throws:
// malformed input is answered (FORMERR, NOTIMP, BADVERS) or dropped and counted; a failing handler is a SERVFAIL.
import { CLASSIC_UDP_SIZE, MAX_UDP_PAYLOAD, Rcode } from '../dns/constants.js';
import { decodeQuery } from '../dns/decode.js';
import { encodeReply } from '../dns/encode.js';
import type { Client, Proto, QueryEvent, ReplayedEvent } from '../dns/exchange.js';
import type { Query, Reply } from '../dns/message.js';
import { type ReplayCache, replayQuestion, replayableForGeneration } from '../dns/replay.js';
import { type Handler, type HandlerResult, PASS, emptyReply } from '../resolve/handler.js';
import { TransportAccounting } from './accounting.js';

export type { Client, Proto, QueryEvent } from '../dns/exchange.js';

export interface PipelineStats {
  queries: number;
  dropped: Record<string, number>;
  malformed: number;
  handlerErrors: number;
  /** What the transports' limits did (the same object as `Pipeline.transport`). */
  limits: TransportAccounting;
}

/** The fast path (dns/replay.ts): stored answers, valid while `generation()` is unchanged. */
export interface FastPath {
  cache: ReplayCache;
  generation: () => number;
  /** Load-balancing rotations to cache for a reply; [reply] when it has nothing to rotate. */
  variants: (reply: Reply) => Reply[];
}

export interface PipelineOptions {
  handlers: Handler[];
  fastPath?: FastPath;
  /** Called once per answered query, replayed or not (metrics, query log); must be cheap and keep nothing of the event. */
  observe?: (e: QueryEvent) => void;
  /** Applied to every reply before encoding (e.g. load balancing), never to the cached original. */
  transform?: (reply: Reply) => Reply;
  onHandlerError?: (err: unknown, query: Query) => void;
}

const UNKNOWN_CLIENT: Client = { address: '', family: 4 };

export class Pipeline {
  /** What the transports' limits did (shared by every listener; read by the metrics). */
  readonly transport = new TransportAccounting();
  readonly stats: PipelineStats = { queries: 0, dropped: {}, malformed: 0, handlerErrors: 0, limits: this.transport };
  /** Queries decoded but not yet answered: a graceful stop waits for this to reach zero. */
  inFlight = 0;
  /**
   * Queries that may wait on another server at once (`--max-in-flight`); a query that would wait past it is
   * answered REFUSED at once. The forwarder's own cap counts upstream exchanges; this one also counts the
   * queries coalesced onto them, which a flood of one slow name makes unbounded.
   */
  maxInFlight = Infinity;
  private drainWaiters: Array<() => void> = [];
  /**
   * The event of every replay, filled in place: a replay allocates nothing but its reply. Observers read it during
   * the call and keep nothing of it (the contract of `observe`).
   */
  private readonly replayed: ReplayedEvent = { kind: 'replayed', hit: undefined as never, proto: 'udp', client: UNKNOWN_CLIENT, started: 0n, requestSize: 0, size: 0 };

  constructor(private readonly opts: PipelineOptions) {}

  /** Swaps the handler chain (a configuration reload); queries already running finish on the old one. */
  setHandlers(handlers: Handler[], transform?: (reply: Reply) => Reply, fastPath?: FastPath): void {
    this.opts.handlers = handlers;
    this.opts.transform = transform;
    this.opts.fastPath = fastPath;
  }

  /**
   * Resolves when no query is waiting for its answer (at once when none is). It waits one turn of the event loop
   * after the last answer, so the listeners have handed it to their sockets (a UDP send resolves its address on
   * the next tick) before anyone closes them.
   */
  drained(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((r) => this.drainWaiters.push(r));
  }

  private wakeDrained(): void {
    if (this.inFlight === 0) for (const wake of this.drainWaiters.splice(0)) wake();
  }

  private maxSize(query: Query, proto: Proto): number {
    if (proto === 'tcp') return 65535;
    return query.edns ? Math.min(query.edns.udpSize, MAX_UDP_PAYLOAD) : CLASSIC_UDP_SIZE;
  }

  private encode(query: Query, reply: Reply, proto: Proto, started: bigint, client: Client, requestSize: number): Buffer {
    if (this.opts.transform) reply = this.opts.transform(reply);
    // The OPT echoes the client's size as CoreDNS's does; what we send over UDP stays within MAX_UDP_PAYLOAD.
    const opts = { maxSize: this.maxSize(query, proto), advertisedPayload: query.edns?.udpSize ?? MAX_UDP_PAYLOAD };
    let buf: Buffer;
    try {
      buf = encodeReply(query, reply, opts);
    } catch (err) {
      // A record that cannot be put on the wire (e.g. a label over 63 octets from an unvalidated manifest) must
      // not escape into the socket handler, where it would be an uncaught exception: answer SERVFAIL instead.
      this.stats.handlerErrors++;
      this.opts.onHandlerError?.(err, query);
      reply = emptyReply(Rcode.SERVFAIL);
      buf = encodeReply(query, reply, opts);
    }
    this.opts.observe?.({ kind: 'answered', query, reply, proto, client, started, requestSize, size: buf.length });
    return buf;
  }

  /** Returns the reply bytes, a Promise of them when a handler must wait, or undefined to stay silent. */
  process(packet: Buffer, proto: Proto, client: Client = UNKNOWN_CLIENT): Buffer | undefined | Promise<Buffer | undefined> {
    const started = process.hrtime.bigint();
    const fast = this.opts.fastPath;
    const fq = fast ? replayQuestion(packet) : undefined;
    let generation = 0;
    if (fast && fq) {
      generation = fast.generation();
      const hit = fast.cache.hit(packet, fq, generation, proto === 'udp');
      if (hit) {
        this.stats.queries++;
        const observe = this.opts.observe;
        if (observe) {
          const e = this.replayed;
          e.hit = hit;
          e.proto = proto;
          e.client = client;
          e.started = started;
          e.requestSize = packet.length;
          e.size = hit.bytes.length;
          observe(e);
        }
        return hit.bytes;
      }
    }
    const decoded = decodeQuery(packet);
    if (decoded.kind === 'drop') {
      this.stats.dropped[decoded.reason] = (this.stats.dropped[decoded.reason] ?? 0) + 1;
      return undefined;
    }
    if (decoded.kind === 'error') {
      this.stats.malformed++;
      return this.encode(decoded.query, emptyReply(decoded.rcode), proto, started, client, packet.length);
    }
    const query = decoded.query;
    this.stats.queries++;
    const result = this.run(query, client, 0);
    if (result instanceof Promise && this.inFlight >= this.maxInFlight) {
      // Its answer is not awaited: nothing keeps this query once the handler lets go of it.
      result.catch(() => {});
      this.transport.refusedInFlight++;
      return this.encode(query, emptyReply(Rcode.REFUSED), proto, started, client, packet.length);
    }
    if (result instanceof Promise) {
      this.inFlight++;
      return result
        .then(
          (reply) => {
            const out = this.encode(query, reply, proto, started, client, packet.length);
            // A fresh answer from the forward cache may be replayed; anything else that needed another server
            // (an upstream round trip, ExternalName chasing) is not.
            if (fast && fq && reply.replayFor && !reply.perClient) fast.cache.remember(query, fq, fast.variants(reply), reply.replayFor, generation);
            return out;
          },
          (err: unknown) => this.failed(err, query, proto, started, client, packet.length),
        )
        .finally(() => {
          if (--this.inFlight === 0 && this.drainWaiters.length) setImmediate(() => this.wakeDrained());
        });
    }
    const out = this.encode(query, result, proto, started, client, packet.length);
    if (fast && fq && replayableForGeneration(result)) fast.cache.remember(query, fq, fast.variants(result), undefined, generation);
    return out;
  }

  private failed(err: unknown, query: Query, proto: Proto, started: bigint, client: Client, requestSize: number): Buffer {
    this.stats.handlerErrors++;
    this.opts.onHandlerError?.(err, query);
    return this.encode(query, emptyReply(Rcode.SERVFAIL), proto, started, client, requestSize);
  }

  /** Runs handlers from `from` until one answers; nobody answering means REFUSED (not our zone, no forwarder). */
  private run(query: Query, client: Client, from: number): Reply | Promise<Reply> {
    for (let i = from; i < this.opts.handlers.length; i++) {
      let result: HandlerResult | Promise<HandlerResult>;
      try {
        result = this.opts.handlers[i]!(query, client);
      } catch (err) {
        this.stats.handlerErrors++;
        this.opts.onHandlerError?.(err, query);
        return emptyReply(Rcode.SERVFAIL);
      }
      if (result instanceof Promise) {
        const next = i + 1;
        return result.then((r) => (r === PASS ? this.run(query, client, next) : r));
      }
      if (result !== PASS) return result;
    }
    return emptyReply(Rcode.REFUSED);
  }
}
