// The delay before a failed list/watch is tried again: exponential from `minMs` to `maxMs`, each wait drawn
// from [d/2, d] ("equal jitter") so the replicas of a Deployment that lost the API server together do not come
// back in step. client-go's reflector does the same with its backoff manager (800 ms → 30 s, jittered); we
// start lower because recovery is also watched by a probe (list-watch.ts) and the first retry is often enough.
export class Backoff {
  private current: number;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    this.current = minMs;
  }

  /** The next wait, and the one after it doubles (up to the cap). */
  next(): number {
    const d = this.current;
    this.current = Math.min(this.current * 2, this.maxMs);
    return d * (0.5 + this.random() / 2);
  }

  /** After a success that proves the API healthy again: the next failure starts from the minimum. */
  reset(): void {
    this.current = this.minMs;
  }
}
