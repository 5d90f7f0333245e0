// One admission review, bytes in, HTTP status and body out: parse the envelope, plan the pod's variables, build
// the patch, count the outcome. Never throws: an unexpected failure is a 500 the API server handles by its
// failurePolicy (Ignore: the pod is created without variables), never a crashed process.
import { type ClusterView, type EnvPolicy, planPodEnv } from '../env/pod-env.js';
import type { Logger } from '../base/log.js';
import { envPatch } from './patch.js';
import { BadReview, allowResponse, errorResponse, parseReview, podCreate } from './review.js';

/** Plain counters: logged at shutdown and served on GET /metrics (cluster_dns_webhook_admissions_total). */
export interface WebhookCounters {
  /** Reviews received (every POST /mutate). */
  reviews: number;
  /** Pods that got variables. */
  injected: number;
  /** Pods that already had every variable (reinvocation, or everything declared). */
  unchanged: number;
  /** Pods not mutated by policy: opt-out label or annotation, kube-system or our namespace, mirror pods. */
  skipped: number;
  /** Pods whose variables were over --max-env-bytes: none added, a warning returned. */
  oversized: number;
  /** Pods admitted before the first sync of Services: none added, a warning returned. */
  notSynced: number;
  /** Valid reviews of anything but a Pod CREATE, allowed untouched. */
  ignored: number;
  /** HTTP 400: not JSON, not a v1 AdmissionReview, too large. */
  badRequests: number;
  /** HTTP 500: a bug. */
  errors: number;
}

export const newCounters = (): WebhookCounters => ({ reviews: 0, injected: 0, unchanged: 0, skipped: 0, oversized: 0, notSynced: 0, ignored: 0, badRequests: 0, errors: 0 });

export interface AdmitContext {
  cluster: ClusterView;
  policy: EnvPolicy;
  synced(): boolean;
  counters: WebhookCounters;
  log: Logger;
}

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

export const NOT_SYNCED_WARNING = 'cluster-dns: no service variables injected: the webhook has not read the Services yet';

export function admit(body: Buffer, ctx: AdmitContext): HttpAnswer {
  ctx.counters.reviews++;
  let uid: string | undefined;
  try {
    const request = parseReview(body);
    uid = request.uid;
    const pod = podCreate(request);
    if (!pod) {
      ctx.counters.ignored++;
      return { status: 200, body: allowResponse(request.uid, [], []) };
    }
    const text = (v: unknown): string => (typeof v === 'string' ? v : '');
    const namespace = text(request.namespace) || text(pod.metadata?.namespace) || 'default';
    const podName = text(request.name) || text(pod.metadata?.name) || `${text(pod.metadata?.generateName)}*`;
    if (!ctx.synced()) {
      ctx.counters.notSynced++;
      ctx.log.warn('pod admitted before the first sync; no variables', { uid, namespace, pod: podName });
      return { status: 200, body: allowResponse(request.uid, [], [NOT_SYNCED_WARNING]) };
    }
    const plan = planPodEnv(pod, namespace, ctx.cluster, ctx.policy);
    ctx.counters[plan.outcome]++;
    const patch = envPatch(plan);
    const fields = { uid, namespace, pod: podName, outcome: plan.outcome, reason: plan.reason, bytes: plan.bytes, operations: patch.length, dryRun: request.dryRun === true };
    if (plan.outcome === 'oversized') ctx.log.warn('pod not mutated', fields);
    else ctx.log.debug('pod reviewed', fields);
    return { status: 200, body: allowResponse(request.uid, patch, plan.warnings) };
  } catch (err) {
    if (err instanceof BadReview) {
      ctx.counters.badRequests++;
      ctx.log.warn('bad admission review', { uid: err.uid, reason: err.message });
      return { status: 400, body: errorResponse(err.uid, 400, err.message) };
    }
    ctx.counters.errors++;
    ctx.log.error('admission review failed', { uid, error: err });
    return { status: 500, body: errorResponse(uid, 500, `internal error: ${(err as Error).message}`) };
  }
}
