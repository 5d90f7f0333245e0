// --cache-cap-replies: CoreDNS's `cache` plugin sits in front of every other plugin of kubeadm's Corefile, so
// each reply it passes on — cluster answers, forwarded ones, errors — gets one capped TTL (dns/cache-ttl.ts).
// This wraps a handler to do the same. Cache hits are left alone: the forward cache stored them with that TTL
// already and counts it down, as CoreDNS's cache serves them.
import { type TtlCaps, uniformTtl, withTtl } from '../dns/cache-ttl.js';
import type { Query, Reply } from '../dns/message.js';
import { type Handler, type HandlerResult, PASS } from './handler.js';

function capped(result: HandlerResult, caps: TtlCaps, query: Query): HandlerResult {
  if (result === PASS || result.source === 'cache') return result;
  const ttl = uniformTtl(result, caps, { name: query.lowerName, type: query.type });
  const reply: Reply = { ...result, answer: withTtl(result.answer, ttl), authority: withTtl(result.authority, ttl), additional: withTtl(result.additional, ttl) };
  return reply;
}

export function withUniformTtl(handler: Handler, caps: TtlCaps): Handler {
  return (query, client) => {
    const result = handler(query, client);
    return result instanceof Promise ? result.then((r) => capped(r, caps, query)) : capped(result, caps, query);
  };
}
