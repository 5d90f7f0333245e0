// A tiny RFC 6902 `add` applier for tests: enough for the shapes src/webhook/patch.ts makes (object members,
// array indexes and `-`), with the RFC's rule that adding an existing object member replaces it.
import type { AddOperation } from '../../src/webhook/patch.js';

export function applyAdds<T>(doc: T, ops: readonly AddOperation[]): T {
  const copy = structuredClone(doc) as Record<string, unknown>;
  for (const op of ops) {
    assertAdd(op);
    const parts = op.path.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = parts.pop()!;
    let at: unknown = copy;
    for (const p of parts) {
      at = (at as Record<string, unknown>)[p];
      if (at === null || typeof at !== 'object') throw new Error(`${op.path}: no such parent`);
    }
    if (Array.isArray(at)) {
      if (last === '-') at.push(structuredClone(op.value));
      else at.splice(Number(last), 0, structuredClone(op.value));
    } else (at as Record<string, unknown>)[last] = structuredClone(op.value);
  }
  return copy as T;
}

function assertAdd(op: AddOperation): void {
  if (op.op !== 'add') throw new Error(`not an add operation: ${JSON.stringify(op)}`);
}
