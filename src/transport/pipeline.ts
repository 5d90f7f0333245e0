// Bytes in, bytes out: decode → handler chain → encode, shared by the UDP and TCP listeners. Never throws:
// malformed input is answered (FORMERR, NOTIMP, BADVERS) or dropped and counted; a failing handler is a SERVFAIL.
import { CLASSIC_UDP_SIZE, MAX_UDP_PAYLOAD, Rcode } from '../dns/constants.js';
import { decodeQuery } from '../dns/decode.js';
import { encodeReply } from '../dns/encode.js';
import type { Query, Reply } from '../dns/message.js';
import { type Handler, type HandlerResult, PASS, emptyReply } from '../resolve/handler.js';
import { type AnswerCache, type CachedAnswer, type FastQuestion, fastQuestion } from './answer-cache.js';
import { ttlOffsets } from '../dns/ttl-offsets.js';

export type Proto = 'udp' | 'tcp';

export interface Client {
  address: string;
  family: 4 | 6;
}

export interface QueryEvent {
  query: Query;
  reply: Reply;
  proto: Proto;
  client: Client;
  started: bigint;
  requestSize: number;
  size: number;
}

export interface PipelineStats {
  queries: number;
  dropped: Record<string, number>;
  malformed: number;
  handlerErrors: number;
}

/** The fast path for cluster answers (answer-cache.ts), valid while `generation()` is unchanged. */
export interface FastPath {
  cache: AnswerCache;
  generation: () => number;
  /** Load-balancing rotations to cache for a reply; [reply] when it has nothing to rotate. */
  variants: (reply: Reply) => Reply[];
}

export interface PipelineOptions {
  handlers: Handler[];
  fastPath?: FastPath;
  /** Called once per answered query (metrics, query log); must be cheap. */
  observe?: (e: QueryEvent) => void;
  /** Applied to every reply before encoding (e.g. load balancing), never to the cached original. */
  transform?: (reply: Reply) => Reply;
  onHandlerError?: (err: unknown, query: Query) => void;
}

const UNKNOWN_CLIENT: Client = { address: '', family: 4 };

/** Only authoritative answers from the index: their bytes change only when the index generation does. */
function cacheable(reply: Reply): boolean {
  return reply.plugin === 'kubernetes' && reply.authoritative && !reply.truncated && !reply.ede && (reply.rcode === Rcode.NOERROR || reply.rcode === Rcode.NXDOMAIN);
}

export class Pipeline {
  readonly stats: PipelineStats = { queries: 0, dropped: {}, malformed: 0, handlerErrors: 0 };
  /** Queries decoded but not yet answered: a graceful stop waits for this to reach zero. */
  inFlight = 0;

  constructor(private readonly opts: PipelineOptions) {}

  /** Swaps the handler chain (a configuration reload); queries already running finish on the old one. */
  setHandlers(handlers: Handler[], transform?: (reply: Reply) => Reply, fastPath?: FastPath): void {
    this.opts.handlers = handlers;
    this.opts.transform = transform;
    this.opts.fastPath = fastPath;
  }

  private maxSize(query: Query, proto: Proto): number {
    if (proto === 'tcp') return 65535;
    return query.edns ? Math.min(query.edns.udpSize, MAX_UDP_PAYLOAD) : CLASSIC_UDP_SIZE;
  }

  private encode(query: Query, reply: Reply, proto: Proto, started: bigint, client: Client, requestSize: number): Buffer {
    if (this.opts.transform) reply = this.opts.transform(reply);
    const opts = { maxSize: this.maxSize(query, proto), advertisedPayload: MAX_UDP_PAYLOAD };
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
    this.opts.observe?.({ query, reply, proto, client, started, requestSize, size: buf.length });
    return buf;
  }

  /** Returns the reply bytes, a Promise of them when a handler must wait, or undefined to stay silent. */
  process(packet: Buffer, proto: Proto, client: Client = UNKNOWN_CLIENT): Buffer | undefined | Promise<Buffer | undefined> {
    const started = process.hrtime.bigint();
    const fast = this.opts.fastPath;
    const fq = fast ? fastQuestion(packet) : undefined;
    let generation = 0;
    if (fast && fq) {
      generation = fast.generation();
      const hit = fast.cache.get(fq.key, generation);
      if (hit) {
        const out = fast.cache.reply(packet, fq, hit, proto, client.family, started);
        if (out) {
          this.stats.queries++;
          return out;
        }
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
    const result = this.run(query, 0);
    if (result instanceof Promise) {
      this.inFlight++;
      return result
        .then(
          (reply) => {
            const out = this.encode(query, reply, proto, started, client, packet.length);
            // A fresh answer from the forward cache may be replayed; anything else that needed another server
            // (an upstream round trip, ExternalName chasing) is not.
            if (fast && fq && reply.replay) this.remember(fast, fq, query, reply, generation);
            return out;
          },
          (err: unknown) => this.failed(err, query, proto, started, client, packet.length),
        )
        .finally(() => this.inFlight--);
    }
    const out = this.encode(query, result, proto, started, client, packet.length);
    if (fast && fq && cacheable(result)) this.remember(fast, fq, query, result, generation);
    return out;
  }

  /** Stores the encoded sections of an authoritative cluster answer (one per load-balancing rotation). */
  private remember(fast: FastPath, fq: FastQuestion, query: Query, reply: Reply, generation: number): void {
    const variants: Buffer[] = [];
    let header: Buffer | undefined;
    let ttl: CachedAnswer['ttl'];
    for (const v of fast.variants(reply)) {
      let full: Buffer;
      try {
        full = encodeReply(query, v, { maxSize: 65535, advertisedPayload: MAX_UDP_PAYLOAD });
      } catch {
        return; // not encodable (the full path answered SERVFAIL): nothing to cache
      }
      if (full[2]! & 0x02) return; // TC: never cached
      header ??= full;
      const body = full.subarray(fq.end, full.length - (fq.edns ? 11 : 0));
      if (reply.replay) {
        const records = full.readUInt16BE(6) + full.readUInt16BE(8) + full.readUInt16BE(10) - (fq.edns ? 1 : 0);
        const offsets = ttlOffsets(body, 0, records);
        if (!offsets) return;
        // Rotations move records of one size only, so every variant has its TTLs at the same offsets; if not, skip.
        if (ttl && offsets.join() !== ttl.offsets.join()) return;
        const now = Date.now();
        ttl ??= { offsets, base: offsets.map((o) => body.readUInt32BE(o)), storedAt: now, expiresAt: now + reply.replay.maxAge * 1000, onReplay: reply.replay.onReplay };
      }
      variants.push(body);
    }
    if (!header) return;
    fast.cache.set(fq.key, generation, {
      variants,
      next: 0,
      // A replayed forward answer is a cache hit, which CoreDNS marks authoritative (see Forwarder.replyFrom).
      flags: ((header[2]! & 0xfe) << 8) | (header[3]! & 0xef) | (reply.replay ? 0x0400 : 0),
      an: header.readUInt16BE(6),
      ns: header.readUInt16BE(8),
      ar: header.readUInt16BE(10) - (fq.edns ? 1 : 0),
      // Replays of a forwarded answer are cache hits.
      shape: { lowerName: query.lowerName, type: query.type, rcode: reply.rcode, plugin: reply.replay ? 'cache' : (reply.plugin ?? '') },
      cells: [],
      ...(ttl ? { ttl } : {}),
    });
  }

  private failed(err: unknown, query: Query, proto: Proto, started: bigint, client: Client, requestSize: number): Buffer {
    this.stats.handlerErrors++;
    this.opts.onHandlerError?.(err, query);
    return this.encode(query, emptyReply(Rcode.SERVFAIL), proto, started, client, requestSize);
  }

  /** Runs handlers from `from` until one answers; nobody answering means REFUSED (not our zone, no forwarder). */
  private run(query: Query, from: number): Reply | Promise<Reply> {
    for (let i = from; i < this.opts.handlers.length; i++) {
      let result: HandlerResult | Promise<HandlerResult>;
      try {
        result = this.opts.handlers[i]!(query);
      } catch (err) {
        this.stats.handlerErrors++;
        this.opts.onHandlerError?.(err, query);
        return emptyReply(Rcode.SERVFAIL);
      }
      if (result instanceof Promise) {
        const next = i + 1;
        return result.then((r) => (r === PASS ? this.run(query, next) : r));
      }
      if (result !== PASS) return result;
    }
    return emptyReply(Rcode.REFUSED);
  }
}
