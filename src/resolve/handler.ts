// The one handler shape (CoreDNS's plugin.Handler): a handler answers a query with a Reply, or returns PASS
// when the name is not its to answer, so the next handler (the forwarder, or REFUSED) gets it.
import type { Query, Reply } from '../dns/message.js';

export const PASS = Symbol('pass');
export type HandlerResult = Reply | typeof PASS;

/** Synchronous for everything answered from memory; a Promise only when another server must be asked. */
export type Handler = (query: Query) => HandlerResult | Promise<HandlerResult>;

export function emptyReply(rcode: number, authoritative = false): Reply {
  return { rcode, authoritative, answer: [], authority: [], additional: [] };
}
