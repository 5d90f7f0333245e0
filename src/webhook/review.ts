// AdmissionReview admission.k8s.io/v1 in and out (the webhook contract: docs/webhook.md, The endpoint). Parsing is strict
// about the envelope — a body that is not a v1 AdmissionReview is the caller's mistake, answered 400 with the
// reason — and lenient about everything else: a review of anything but a Pod CREATE is simply allowed.
import { BadReview } from '../base/errors.js';
export { BadReview };
import type { PodObject } from '../env/pod-env.js';
import type { AddOperation } from './patch.js';

export const API_VERSION = 'admission.k8s.io/v1';


interface GroupVersionKind {
  group?: string;
  version?: string;
  kind?: string;
}

interface GroupVersionResource {
  group?: string;
  version?: string;
  resource?: string;
}

export interface AdmissionRequest {
  uid: string;
  kind?: GroupVersionKind;
  resource?: GroupVersionResource;
  subResource?: string;
  name?: string;
  namespace?: string;
  operation?: string;
  object?: unknown;
  dryRun?: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function parseReview(body: Buffer | string): AdmissionRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString());
  } catch (err) {
    throw new BadReview(`body is not JSON: ${(err as Error).message}`, undefined);
  }
  if (!isObject(doc)) throw new BadReview('body is not a JSON object', undefined);
  const request = doc['request'];
  const uid = isObject(request) && typeof request['uid'] === 'string' && request['uid'] !== '' ? request['uid'] : undefined;
  if (doc['kind'] !== 'AdmissionReview') throw new BadReview(`kind ${JSON.stringify(doc['kind'])} is not AdmissionReview`, uid);
  if (doc['apiVersion'] !== API_VERSION) throw new BadReview(`apiVersion ${JSON.stringify(doc['apiVersion'])} is not served: want ${API_VERSION}`, uid);
  if (!isObject(request)) throw new BadReview('request is missing', uid);
  if (uid === undefined) throw new BadReview('request.uid is missing', uid);
  return request as unknown as AdmissionRequest;
}

/**
 * The pod of a Pod CREATE (the pods resource itself, no subresource), or undefined for any other review.
 * Throws BadReview when a Pod CREATE carries no object.
 */
export function podCreate(request: AdmissionRequest): PodObject | undefined {
  const k = request.kind;
  const r = request.resource;
  const isPod = (k?.group ?? '') === '' && k?.version === 'v1' && k?.kind === 'Pod' && (r?.resource ?? 'pods') === 'pods' && !request.subResource;
  if (!isPod || request.operation !== 'CREATE') return undefined;
  if (!isObject(request.object)) throw new BadReview('request.object is not a Pod', request.uid);
  const spec = request.object['spec'];
  if (spec !== undefined && !isObject(spec)) throw new BadReview('request.object.spec is not an object', request.uid);
  for (const list of ['containers', 'initContainers']) {
    const containers = isObject(spec) ? spec[list] : undefined;
    if (containers === undefined || containers === null) continue;
    if (!Array.isArray(containers) || !containers.every(isObject)) throw new BadReview(`request.object.spec.${list} is not a list of containers`, request.uid);
    for (const c of containers) {
      if (c['env'] !== undefined && c['env'] !== null && (!Array.isArray(c['env']) || !c['env'].every(isObject))) {
        throw new BadReview(`request.object.spec.${list}: env of ${JSON.stringify(c['name'])} is not a list of variables`, request.uid);
      }
    }
  }
  return request.object as PodObject;
}

/** An allowing response, with the patch when there is one. */
export function allowResponse(uid: string, patch: readonly AddOperation[], warnings: readonly string[]): Record<string, unknown> {
  const response: Record<string, unknown> = { uid, allowed: true };
  if (patch.length > 0) {
    response['patchType'] = 'JSONPatch';
    response['patch'] = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  if (warnings.length > 0) response['warnings'] = warnings;
  return { apiVersion: API_VERSION, kind: 'AdmissionReview', response };
}

/**
 * The body of an HTTP 400 or 500. The API server treats any non-200 as a failed call (and applies the
 * failurePolicy), so this is for people and logs: the reason, in the review's own shape, with the uid if known.
 */
export function errorResponse(uid: string | undefined, code: 400 | 500, message: string): Record<string, unknown> {
  return {
    apiVersion: API_VERSION,
    kind: 'AdmissionReview',
    response: { uid: uid ?? '', allowed: false, status: { code, reason: code === 400 ? 'BadRequest' : 'InternalError', message } },
  };
}
