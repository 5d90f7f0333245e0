// Which variables a new pod's containers get: the kubelet's service variables (service-env.ts) minus what each
// container declares itself, after the opt-outs and the size cap. Pure; shared by the webhook (which turns the
// plan into a JSONPatch) and `cluster-dns env` (which prints it).
import type { Config } from '../config/config.js';
import { INJECT_ENV_LABEL, type NamespaceInfo, type ServiceInfo } from '../cluster/objects.js';
import { type EnvVar, envBytes, serviceEnv } from './service-env.js';

/** Label on a namespace or annotation on a pod; this value turns injection off. */
export const INJECT_ENV_KEY = INJECT_ENV_LABEL;
export const INJECT_ENV_DISABLED = 'disabled';
/** Set by the kubelet on the API copy of a static pod: the container runs from the node's file, not this spec. */
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/** The parts of a v1 Pod this reads; anything else in the object is ignored. */
export interface PodObject {
  metadata?: { name?: string; generateName?: string; namespace?: string; annotations?: Record<string, string> | null } | null;
  spec?: { containers?: ContainerObject[] | null; initContainers?: ContainerObject[] | null; enableServiceLinks?: boolean | null } | null;
}

export interface ContainerObject {
  [field: string]: unknown;
  name?: string;
  env?: Array<{ name?: string; [field: string]: unknown }> | null;
  envFrom?: unknown[] | null;
}

/** What the cluster looks like; ClusterState is one. */
export interface ClusterView {
  readonly services: ReadonlyMap<string, ServiceInfo>;
  namespace(name: string): NamespaceInfo | undefined;
}

export interface EnvPolicy {
  /** Namespaces never mutated whatever their labels: kube-system and the webhook's own. */
  neverMutate: readonly string[];
  /** Cap on the variables' size in bytes (envBytes); above it nothing is injected. */
  maxEnvBytes: number;
  /**
   * Containers with envFrom: 'skip' leaves them to the kubelet (whose precedence, envFrom above service
   * variables, an `env` entry cannot reproduce), 'inject' treats them like the others.
   */
  envFromContainers: 'skip' | 'inject';
  /**
   * 'pod' follows each pod's enableServiceLinks as the kubelet does; 'always' gives every pod its namespace's
   * Services, so the kubelet's own copy can be switched off (enableServiceLinks: false) without losing them.
   */
  serviceLinks: 'pod' | 'always';
}

/** The policy from the command-line settings; `own` is the webhook's namespace, if known. */
export function envPolicy(config: Pick<Config, 'maxEnvBytes' | 'envFromContainers' | 'serviceLinks'>, own: string | undefined): EnvPolicy {
  return {
    neverMutate: ['kube-system', ...(own && own !== 'kube-system' ? [own] : [])],
    maxEnvBytes: config.maxEnvBytes,
    envFromContainers: config.envFromContainers,
    serviceLinks: config.serviceLinks,
  };
}

export type ContainerList = 'initContainers' | 'containers';

export interface ContainerPlan {
  list: ContainerList;
  index: number;
  name: string;
  /** The container has an `env` array (the patch appends to it) rather than none (the patch creates it). */
  hasEnv: boolean;
  /** Variables to add, in order; empty when it declares them all or is skipped. */
  add: EnvVar[];
  /** Why nothing is added despite variables to add ('envFrom'), if so. */
  skipped?: 'envFrom';
}

export type Outcome = 'injected' | 'unchanged' | 'skipped' | 'oversized';

export interface PodEnvPlan {
  /** injected: something to add; unchanged: every container already has every variable (e.g. a reinvocation). */
  outcome: Outcome;
  /** One line for logs, and for people when nothing is injected. */
  reason: string;
  /** Admission warnings for the user (shown by kubectl). */
  warnings: string[];
  /** The pod's full service variable set, before per-container subtraction (empty when skipped). */
  variables: EnvVar[];
  bytes: number;
  containers: ContainerPlan[];
}

const skip = (reason: string): PodEnvPlan => ({ outcome: 'skipped', reason, warnings: [], variables: [], bytes: 0, containers: [] });

/**
 * Plans the variables for a pod being created in `namespace` (the admission request's namespace: a pod made by a
 * controller may not carry one in its metadata yet).
 */
export function planPodEnv(pod: PodObject, namespace: string, cluster: ClusterView, policy: EnvPolicy): PodEnvPlan {
  if (policy.neverMutate.includes(namespace)) return skip(`namespace ${namespace} is never mutated`);
  if (cluster.namespace(namespace)?.injectEnv === INJECT_ENV_DISABLED) return skip(`namespace ${namespace} is labelled ${INJECT_ENV_KEY}=${INJECT_ENV_DISABLED}`);
  const annotations = pod.metadata?.annotations ?? {};
  if (annotations[INJECT_ENV_KEY] === INJECT_ENV_DISABLED) return skip(`pod is annotated ${INJECT_ENV_KEY}=${INJECT_ENV_DISABLED}`);
  if (annotations[MIRROR_POD_ANNOTATION] !== undefined) return skip('mirror pod of a static pod: its containers run from the node, not this spec');

  const variables = serviceEnv(cluster.services.values(), { namespace, enableServiceLinks: policy.serviceLinks === 'always' || (pod.spec?.enableServiceLinks ?? true) });
  const bytes = envBytes(variables);
  if (bytes > policy.maxEnvBytes) {
    const reason = `${variables.length} service variables take ${bytes} bytes, over the limit of ${policy.maxEnvBytes}`;
    return {
      outcome: 'oversized',
      reason,
      warnings: [`cluster-dns: no service variables injected: ${reason}; the kubelet's own copy of them can make containers fail with "argument list too long": consider enableServiceLinks: false`],
      variables,
      bytes,
      containers: [],
    };
  }

  const containers: ContainerPlan[] = [];
  for (const list of ['initContainers', 'containers'] as const) {
    (pod.spec?.[list] ?? []).forEach((c, index) => {
      const hasEnv = Array.isArray(c.env);
      const plan: ContainerPlan = { list, index, name: c.name ?? '', hasEnv, add: [] };
      if (policy.envFromContainers === 'skip' && Array.isArray(c.envFrom) && c.envFrom.length > 0) plan.skipped = 'envFrom';
      else {
        // Any declared entry wins, even with an empty value or a valueFrom, as in the kubelet.
        const declared = new Set((c.env ?? []).map((e) => e?.name));
        plan.add = variables.filter((v) => !declared.has(v.name));
      }
      containers.push(plan);
    });
  }
  const added = containers.reduce((n, c) => n + c.add.length, 0);
  const envFrom = containers.filter((c) => c.skipped === 'envFrom').map((c) => c.name);
  const note = envFrom.length > 0 ? `; left to the kubelet (envFrom): ${envFrom.join(', ')}` : '';
  return added > 0
    ? { outcome: 'injected', reason: `${added} variables added over ${containers.filter((c) => c.add.length > 0).length} containers${note}`, warnings: [], variables, bytes, containers }
    : { outcome: 'unchanged', reason: `nothing to add${note}`, warnings: [], variables, bytes, containers };
}
