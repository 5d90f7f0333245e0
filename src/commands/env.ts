// `cluster-dns env`: the service variables a new pod would get, as NAME=VALUE lines, from the same planner the
// webhook uses. Without --pod: one pod with one container and no env of its own in --namespace. With --pod: each
// container of that pod, under a `# <kind> <name>` line, after its own env, its annotations, its namespace's
// label and its enableServiceLinks.
import fs from 'node:fs';
import yaml from 'js-yaml';
import { ConfigError, NotSyncedError } from '../base/errors.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../base/log.js';
import { ENV_KINDS, type SourceConfig, startSource, waitForSync } from '../sources/index.js';
import { type PodEnvPlan, type PodObject, envPolicy, planPodEnv } from '../env/pod-env.js';

function readPod(file: string): PodObject {
  let doc: unknown;
  try {
    doc = yaml.load(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`--pod ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  const o = doc as { kind?: unknown; spec?: unknown } | null;
  if (o === null || typeof o !== 'object' || o.kind !== 'Pod') throw new ConfigError(`--pod ${file}: not a Pod manifest (kind: Pod)`);
  return o as PodObject;
}

/** The lines `cluster-dns env` prints for a plan; `# ...` lines are comments. */
export function formatPlan(plan: PodEnvPlan, perContainer: boolean): string[] {
  if (plan.outcome === 'skipped' || plan.outcome === 'oversized') return [`# no variables: ${plan.reason}`, ...plan.warnings.map((w) => `# ${w}`)];
  if (!perContainer) return plan.variables.map((v) => `${v.name}=${v.value}`);
  const out: string[] = [];
  for (const c of plan.containers) {
    out.push(`# ${c.list === 'initContainers' ? 'init container' : 'container'} ${c.name}${c.skipped === 'envFrom' ? ': has envFrom, left to the kubelet' : ''}`);
    for (const v of c.add) out.push(`${v.name}=${v.value}`);
  }
  return out;
}

/** The settings `env` reads. */
export type EnvConfig = SourceConfig & Pick<Config, 'pod' | 'noServiceLinks' | 'namespace' | 'maxEnvBytes' | 'envFromContainers' | 'serviceLinks'>;

export async function envCommand(config: EnvConfig, log: Logger): Promise<void> {
  const pod: PodObject = config.pod ? readPod(config.pod) : { spec: { containers: [{ name: 'main' }] } };
  if (config.noServiceLinks) pod.spec = { ...pod.spec, enableServiceLinks: false };
  const namespace = config.namespace ?? pod.metadata?.namespace ?? 'default';
  const { state, source } = await startSource(config, log, { watch: false, kinds: ENV_KINDS });
  try {
    if (!(await waitForSync(source, 60_000))) throw new NotSyncedError('the source did not sync within 60 s');
  } finally {
    source.stop();
  }
  // As the webhook would decide it, except that no namespace is ours here: only kube-system is never mutated.
  const plan = planPodEnv(pod, namespace, state, envPolicy(config, undefined));
  const lines = formatPlan(plan, config.pod !== undefined);
  process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
}
