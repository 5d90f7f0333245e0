// What /ready says (CoreDNS `ready`): not ready while stopping or before the first full sync, naming the
// watches still waiting and their last error; ready otherwise, with a warning line per forwarding loop found.
import type { Source } from '../sources/index.js';

export interface Readiness {
  ready: boolean;
  /** Lines explaining the state; on 200 they are warnings (e.g. a forwarding loop), on 503 the reasons. */
  detail: string[];
}

export interface ReadinessInputs {
  stopping: boolean;
  source: Pick<Source, 'synced' | 'watches'>;
  /** Upstreams found to loop back to us (forward/loop.ts). */
  loops: readonly string[];
}

export function readiness({ stopping, source, loops }: ReadinessInputs): Readiness {
  if (stopping) return { ready: false, detail: ['shutting down'] };
  if (!source.synced()) {
    const waiting = source.watches().filter((w) => !w.status.synced);
    const which = waiting.map((w) => `${w.kind}${w.status.lastError ? ` (${w.status.lastError})` : ''}`).join(', ');
    return { ready: false, detail: [`cluster state not synced yet${waiting.length ? `: waiting for ${which}` : ''}`] };
  }
  return { ready: true, detail: loops.map((name) => `warning: forwarding loop via upstream ${name}; it is not used`) };
}
