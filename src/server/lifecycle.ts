// The states of a running server and the moves between them:
//
//   starting ──→ serving ⇄ reloading
//      │            │          │
//      └──→ stopped ←── lameduck ←┘
//
// starting: the first core is syncing and the listeners are being bound; a failure here stops the process.
// serving: one configuration (a `Live`) answers. reloading: a second one is being built and synced while the
// first keeps answering; the move back to serving is the commit of the reload. lameduck: unready, still
// answering, then waiting for queries in flight. stopped: every socket closed, every watch stopped.
export type ServerState = 'starting' | 'serving' | 'reloading' | 'lameduck' | 'stopped';

const MOVES: Record<ServerState, readonly ServerState[]> = {
  starting: ['serving', 'stopped'],
  serving: ['reloading', 'lameduck'],
  reloading: ['serving', 'lameduck'],
  lameduck: ['stopped'],
  stopped: [],
};

export class Lifecycle {
  private current: ServerState = 'starting';

  get state(): ServerState {
    return this.current;
  }

  /** Moves on; a move the diagram does not have is a bug in the caller and throws. */
  to(next: ServerState): void {
    if (!MOVES[this.current].includes(next)) throw new Error(`server: no move from ${this.current} to ${next}`);
    this.current = next;
  }

  is(state: ServerState): boolean {
    return this.current === state;
  }

  /** Unready: the server is going away (lameduck or stopped). */
  get stopping(): boolean {
    return this.current === 'lameduck' || this.current === 'stopped';
  }
}
