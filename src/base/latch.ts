// A one-way gate: closed until opened once, then open for good. What "synced" and "drained" are made of, so
// callers await a promise instead of polling a flag.
export class Latch {
  private resolve!: () => void;
  private opened = false;
  readonly promise: Promise<void> = new Promise((r) => (this.resolve = r));

  get isOpen(): boolean {
    return this.opened;
  }

  open(): void {
    if (this.opened) return;
    this.opened = true;
    this.resolve();
  }
}

/** Resolves with true when `promise` settles within `ms`, false after `ms` (the timer never holds the process). */
export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ms);
    timer.unref();
  });
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}
