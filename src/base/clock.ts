// Time, injected wherever it matters (cache lifetimes, TTL countdown, backoff, health checks, loop probes), so
// tests move a fake clock instead of sleeping. Network timeouts on sockets stay on real time: they measure the
// network, not our own schedule.

/** Cancels a scheduled call. */
export type Cancel = () => void;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms`; `unref`: the timer alone does not keep the process alive. */
  after(ms: number, fn: () => void, opts?: { unref?: boolean }): Cancel;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn, opts) {
    const t = setTimeout(fn, ms);
    if (opts?.unref) t.unref();
    return () => clearTimeout(t);
  },
};
