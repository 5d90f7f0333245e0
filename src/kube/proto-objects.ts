// The Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`) of the lists and watch events we
// read, decoded into the same JSON-shaped objects kube/convert.ts takes, with only the fields it reads. Field
// numbers are those of k8s.io/api's and k8s.io/apimachinery's generated.proto (v1.35), which never renumber.
//
// A list body or a watch event's object is an envelope: the 4 bytes "k8s\0", then a runtime.Unknown
// {typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2, contentEncoding = 3, contentType = 4}; raw holds the
// message of that kind. A watch stream is frames of a 4-byte big-endian length and a meta/v1 WatchEvent
// {type = 1, object = 2 {raw = 1}} without an envelope; the object's raw is an envelope again.
import type { ApiObject } from './convert.js';
import { decodeMessage, type Field, fields, FrameReader, ProtoDecodeError, type Schema } from './protobuf.js';

export { FrameReader, ProtoDecodeError };

/** The media type we ask for; the API server answers JSON instead for resources without protobuf (CRDs). */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from('k8s\0', 'latin1');

const TIME_ONLY: Schema = { 4: { name: 'time', type: 'time' } };

/**
 * ObjectMeta {name = 1, namespace = 3, uid = 5, resourceVersion = 6, creationTimestamp = 8, deletionTimestamp = 9,
 * labels = 11, annotations = 12, managedFields = 17}, as much of it as a kind needs: every string and map decoded
 * is memory the first sync allocates and drops, so a Service's labels and a slice's timestamps stay unread.
 */
function objectMeta(extra: { labels?: boolean; annotations?: boolean; pod?: boolean }): Schema {
  const meta: Record<number, Field> = {
    1: { name: 'name', type: 'string' },
    3: { name: 'namespace', type: 'string' },
    6: { name: 'resourceVersion', type: 'string' },
  };
  if (extra.labels) meta[11] = { name: 'labels', type: 'map' };
  if (extra.annotations) meta[12] = { name: 'annotations', type: 'map' };
  if (extra.pod) {
    // --autopath and --pods verified: who the pod is, when it was made and last written, whether it is going.
    meta[5] = { name: 'uid', type: 'string' };
    meta[8] = { name: 'creationTimestamp', type: 'time' };
    meta[9] = { name: 'deletionTimestamp', type: 'time' };
    meta[17] = { name: 'managedFields', type: TIME_ONLY, repeated: true };
  }
  return meta;
}

const PORT: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'protocol', type: 'string' },
  3: { name: 'port', type: 'int32' },
};

const SERVICE: Schema = {
  1: { name: 'metadata', type: objectMeta({}) },
  2: {
    name: 'spec',
    type: {
      1: { name: 'ports', type: PORT, repeated: true },
      3: { name: 'clusterIP', type: 'string' },
      4: { name: 'type', type: 'string' },
      10: { name: 'externalName', type: 'string' },
      18: { name: 'clusterIPs', type: 'string', repeated: true },
    },
  },
};

const ENDPOINT_SLICE: Schema = {
  // The service-name and managed-by labels, the trigger-time annotation.
  1: { name: 'metadata', type: objectMeta({ labels: true, annotations: true }) },
  2: {
    name: 'endpoints',
    repeated: true,
    type: {
      1: { name: 'addresses', type: 'string', repeated: true },
      2: { name: 'conditions', type: { 1: { name: 'ready', type: 'bool' }, 2: { name: 'serving', type: 'bool' }, 3: { name: 'terminating', type: 'bool' } } },
      3: { name: 'hostname', type: 'string' },
      4: { name: 'targetRef', type: { 1: { name: 'kind', type: 'string' }, 2: { name: 'namespace', type: 'string' }, 3: { name: 'name', type: 'string' } } },
    },
  },
  3: { name: 'ports', type: PORT, repeated: true },
  4: { name: 'addressType', type: 'string' },
};

const NAMESPACE: Schema = { 1: { name: 'metadata', type: objectMeta({ labels: true }) } }; // the inject-env label

const IP_ENTRY: Schema = { 1: { name: 'ip', type: 'string' } };

const POD: Schema = {
  1: { name: 'metadata', type: objectMeta({ pod: true }) },
  2: {
    name: 'spec',
    type: {
      6: { name: 'dnsPolicy', type: 'string' },
      11: { name: 'hostNetwork', type: 'bool' },
      26: { name: 'dnsConfig', type: { 2: { name: 'searches', type: 'string', repeated: true } } },
    },
  },
  3: {
    name: 'status',
    type: {
      1: { name: 'phase', type: 'string' },
      5: { name: 'hostIP', type: 'string' },
      6: { name: 'podIP', type: 'string' },
      12: { name: 'podIPs', type: IP_ENTRY, repeated: true },
      16: { name: 'hostIPs', type: IP_ENTRY, repeated: true },
    },
  },
};

/** meta/v1 Status, for ERROR watch events and error bodies. */
const STATUS: Schema = {
  2: { name: 'status', type: 'string' },
  3: { name: 'message', type: 'string' },
  4: { name: 'reason', type: 'string' },
  6: { name: 'code', type: 'int32' },
};

/** A BOOKMARK's object: only its resourceVersion and annotations (the end of a watch's initial events is one). */
const BOOKMARK: Schema = { 1: { name: 'metadata', type: objectMeta({ annotations: true }) } };

const OBJECTS: Record<string, Schema> = { Service: SERVICE, EndpointSlice: ENDPOINT_SLICE, Namespace: NAMESPACE, Pod: POD, Status: STATUS };

interface Envelope {
  apiVersion: string;
  kind: string;
  raw: [start: number, end: number];
}

/** Opens the "k8s\0" + runtime.Unknown envelope of buf[start, end). */
export function openEnvelope(buf: Buffer, start = 0, end = buf.length): Envelope {
  if (end - start < MAGIC.length || !buf.subarray(start, start + MAGIC.length).equals(MAGIC)) {
    throw new ProtoDecodeError('not a Kubernetes protobuf message (no "k8s\\0" prefix)');
  }
  const envelope: Envelope = { apiVersion: '', kind: '', raw: [0, 0] };
  for (const { fieldNumber, wireType, r } of fields(buf, start + MAGIC.length, end)) {
    if (wireType !== 2) continue;
    if (fieldNumber === 1) {
      const [s, e] = r.span();
      for (const t of fields(buf, s, e)) {
        if (t.wireType !== 2) continue;
        if (t.fieldNumber === 1) envelope.apiVersion = t.r.string();
        else if (t.fieldNumber === 2) envelope.kind = t.r.string();
      }
    } else if (fieldNumber === 2) {
      envelope.raw = r.span();
    } else if (fieldNumber === 3) {
      const encoding = r.string();
      if (encoding !== '') throw new ProtoDecodeError(`contentEncoding ${JSON.stringify(encoding)} is not supported`);
    }
  }
  return envelope;
}

/** The object inside an envelope, as convert.ts takes it (apiVersion and kind from the envelope). */
export function decodeObject(buf: Buffer, start = 0, end = buf.length, only?: Schema): ApiObject {
  const { apiVersion, kind, raw } = openEnvelope(buf, start, end);
  const schema = only ?? OBJECTS[kind];
  if (schema === undefined) throw new ProtoDecodeError(`unexpected kind ${JSON.stringify(kind)}`);
  return { apiVersion, kind, ...decodeMessage(buf, schema, raw[0], raw[1]) };
}

export interface ProtoListPage {
  count: number;
  /**
   * Item i, decoded now (each call decodes again). An item that does not decode throws with its index and, when
   * its metadata can be read, its namespace/name.
   */
  item(i: number): ApiObject;
  resourceVersion: string | undefined;
  continue: string | undefined;
}

/**
 * A list page: {metadata = 1 ListMeta {resourceVersion = 2, continue = 3}, items = 2}. The envelope, the list
 * metadata and every item's bounds are read at once (a cut or garbled page fails here); items are decoded on
 * demand, one at a time.
 */
export function decodeListPage(buf: Buffer): ProtoListPage {
  const { kind, raw } = openEnvelope(buf);
  if (kind === 'Status') {
    const status = decodeMessage(buf, STATUS, raw[0], raw[1]);
    throw new ProtoDecodeError(`the API server answered a Status: ${String(status['code'] ?? '')} ${String(status['message'] ?? '')}`.trim());
  }
  const itemKind = kind.endsWith('List') ? kind.slice(0, -'List'.length) : '';
  const schema = OBJECTS[itemKind];
  if (schema === undefined || itemKind === 'Status') throw new ProtoDecodeError(`unexpected kind ${JSON.stringify(kind)}`);
  const bounds: number[] = []; // start, end of each item
  const page: ProtoListPage = {
    count: 0,
    item(i) {
      const start = bounds[2 * i]!;
      const end = bounds[2 * i + 1]!;
      try {
        return decodeMessage(buf, schema, start, end);
      } catch (err) {
        throw new ProtoDecodeError(`items[${i}]${nameOf(buf, start, end)}: ${(err as Error).message}`);
      }
    },
    resourceVersion: undefined,
    continue: undefined,
  };
  for (const { fieldNumber, wireType, r } of fields(buf, raw[0], raw[1])) {
    if (wireType !== 2) continue;
    if (fieldNumber === 1) {
      const [s, e] = r.span();
      for (const m of fields(buf, s, e)) {
        if (m.wireType !== 2) continue;
        if (m.fieldNumber === 2) page.resourceVersion = m.r.string() || undefined;
        else if (m.fieldNumber === 3) page.continue = m.r.string() || undefined;
      }
    } else if (fieldNumber === 2) {
      try {
        bounds.push(...r.span());
      } catch (err) {
        throw new ProtoDecodeError(`items[${bounds.length / 2}]: ${(err as Error).message}`);
      }
    }
  }
  page.count = bounds.length / 2;
  return page;
}

/** " (namespace/name)" of an item whose metadata still decodes, else "". */
function nameOf(buf: Buffer, start: number, end: number): string {
  try {
    for (const { fieldNumber, wireType, r } of fields(buf, start, end)) {
      if (fieldNumber !== 1 || wireType !== 2) continue;
      const [s, e] = r.span();
      const meta = decodeMessage(buf, { 1: { name: 'name', type: 'string' }, 3: { name: 'namespace', type: 'string' } }, s, e);
      return ` (${meta['namespace'] === undefined ? '' : `${String(meta['namespace'])}/`}${String(meta['name'] ?? '?')})`;
    }
  } catch {
    // the metadata itself is what is broken
  }
  return '';
}

export interface ProtoWatchEvent {
  type: string;
  object: ApiObject & { code?: number; message?: string };
}

/** One watch frame's WatchEvent {type = 1, object = 2 RawExtension {raw = 1}}. */
export function decodeWatchEvent(frame: Buffer): ProtoWatchEvent {
  let type = '';
  let raw: [number, number] | undefined;
  for (const { fieldNumber, wireType, r } of fields(frame)) {
    if (wireType !== 2) continue;
    if (fieldNumber === 1) type = r.string();
    else if (fieldNumber === 2) {
      const [s, e] = r.span();
      for (const x of fields(frame, s, e)) if (x.fieldNumber === 1 && x.wireType === 2) raw = x.r.span();
    }
  }
  // Decoded once the type is known: a bookmark's object is read for its annotations whatever its kind.
  const object: ProtoWatchEvent['object'] | undefined = raw && decodeObject(frame, raw[0], raw[1], type === 'BOOKMARK' ? BOOKMARK : undefined);
  if (object === undefined) throw new ProtoDecodeError(`watch event ${JSON.stringify(type)} has no object`);
  return { type, object };
}

/** The message of an error body in protobuf (a Status), or undefined when it is not one. */
export function statusMessage(body: Buffer): string | undefined {
  try {
    const o = decodeObject(body);
    return o.kind === 'Status' ? String(o['message'] ?? '') : undefined;
  } catch {
    return undefined;
  }
}
