// The JSONPatch (RFC 6902) that writes a pod plan into the pod: `add` operations only, so a patch can never
// remove or change what the user wrote. A container without `env` gets one `add .../env` with the whole list
// (adding `/env/-` to a missing array fails); a container with `env` gets one `add .../env/-` per variable,
// appended after its own entries. Order: init containers, then containers, each in spec order; within a
// container, the plan's order (services by name, each service's variables in the kubelet's order).
import type { PodEnvPlan } from '../env/pod-env.js';

export interface AddOperation {
  op: 'add';
  path: string;
  value: unknown;
}

export function envPatch(plan: PodEnvPlan): AddOperation[] {
  const ops: AddOperation[] = [];
  for (const c of plan.containers) {
    if (c.add.length === 0) continue;
    const env = `/spec/${c.list}/${c.index}/env`;
    if (!c.hasEnv) ops.push({ op: 'add', path: env, value: c.add.map((v) => ({ name: v.name, value: v.value })) });
    else for (const v of c.add) ops.push({ op: 'add', path: `${env}/-`, value: { name: v.name, value: v.value } });
  }
  return ops;
}
