// What /ready says (CoreDNS `ready`): not ready while stopping or before the first full sync, naming the
// watches still waiting and their last error; ready otherwise, with a warning line per forwarding loop found
// and one when --autopath is off for every client (its Pod watch down or lagging: DNS answers, without it).
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
  /** Why --autopath is off for every client, when it is on and off. */
  autopath?: string | undefined;
}

export function readiness({ stopping, source, loops, autopath }: ReadinessInputs): Readiness {
  if (stopping) return { ready: false, detail: ['shutting down'] };
  if (!source.synced()) {
    const waiting = source.watches().filter((w) => !w.status.synced);
    const which = waiting.map((w) => `${w.kind}${w.status.lastError ? ` (${w.status.lastError})` : ''}`).join(', ');
    return { ready: false, detail: [`cluster state not synced yet${waiting.length ? `: waiting for ${which}` : ''}`] };
  }
  const detail = loops.map((name) => `warning: forwarding loop via upstream ${name}; it is not used`);
  if (autopath) detail.push(`warning: ${autopath}`);
  return { ready: true, detail };
}
