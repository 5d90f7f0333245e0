// A cluster reply of `n` A records (10.0.x.y) for `name`: what the transport tests answer with.
import type { Reply } from '../../src/dns/message.js';

export const addressReply = (name: string, n = 1): Reply => ({
  rcode: 0,
  authoritative: true,
  answer: Array.from({ length: n }, (_, i) => ({ name, type: 1 as const, ttl: 5, address: `10.0.${i >> 8}.${i & 255}`, bytes: Uint8Array.from([10, 0, i >> 8, i & 255]) })),
  authority: [],
  additional: [],
  source: 'cluster',
});
