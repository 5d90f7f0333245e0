// What one answered query looked like, for whoever observes the server (metrics, the query log): a leaf, so
// the pipeline, the replay module and the observers all depend on it and not on each other.
import type { Query, Reply } from './message.js';
import type { ReplayHit } from './replay.js';

export type Proto = 'udp' | 'tcp';

export interface Client {
  address: string;
  family: 4 | 6;
}

interface Exchange {
  proto: Proto;
  client: Client;
  /** process.hrtime.bigint() when the packet arrived. */
  started: bigint;
  requestSize: number;
  /** Size of the reply sent. */
  size: number;
}

/** A query that took the full path: decoded, answered by the handler chain, encoded. */
export interface AnsweredEvent extends Exchange {
  kind: 'answered';
  query: Query;
  reply: Reply;
}

/** A query answered from the replay cache, without decoding (dns/replay.ts). */
export interface ReplayedEvent extends Exchange {
  kind: 'replayed';
  hit: ReplayHit;
}

export type QueryEvent = AnsweredEvent | ReplayedEvent;
