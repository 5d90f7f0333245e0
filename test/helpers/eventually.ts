// The one way tests wait for something: ask `check` every `everyMs` until it holds, and fail after
// `timeoutMs` naming what was awaited (and the last error `check` threw). Resolves with the milliseconds it took.
export async function eventually(timeoutMs: number, what: string, check: () => boolean | Promise<boolean>, everyMs = 20): Promise<number> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return Date.now() - t0;
    } catch (err) {
      last = err;
    }
    if (Date.now() - t0 >= timeoutMs) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${what}: not true within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/** `eventually` for a promise: it settles within `timeoutMs`. */
export async function settlesWithin(timeoutMs: number, what: string, p: Promise<unknown>): Promise<number> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  return eventually(timeoutMs, what, () => settled);
}
