// The one handler shape (CoreDNS's plugin.Handler): a handler answers a query with a Reply, or returns PASS
// when the name is not its to answer, so the next handler (the forwarder, or REFUSED) gets it.
import type { Client } from '../dns/exchange.js';
import type { Query, Reply } from '../dns/message.js';

export const PASS = Symbol('pass');
export type HandlerResult = Reply | typeof PASS;

/**
 * Synchronous for everything answered from memory; a Promise only when another server must be asked. `client`
 * is who sent the query; only --autopath reads it (every other answer is the same for every client).
 */
export type Handler = (query: Query, client?: Client) => HandlerResult | Promise<HandlerResult>;

export function emptyReply(rcode: number, authoritative = false): Reply {
  return { rcode, authoritative, answer: [], authority: [], additional: [] };
}
