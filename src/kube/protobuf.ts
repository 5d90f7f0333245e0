// The protobuf wire format, read straight into plain objects shaped like the API's JSON for the few fields DNS
// reads (kube/proto-objects.ts holds those schemas), and the length-delimited framing of protobuf watch streams
// (FrameReader, below). Everything else is skipped by its length without being looked at: a Service's
// managedFields, other tools' annotations, status. What protobuf saves is half the bytes and part of the API
// server's encoding work; decoding itself is about as fast as the native JSON.parse (docs/kubernetes-api.md).
//
// Only what the Kubernetes types use is supported: varints, length-delimited fields, fixed 32/64-bit fields
// (skipped); groups are an error. proto2 rules, as the API's generated code writes them: a non-pointer string is
// written even when empty, so an empty string of a single field is dropped, as JSON's omitempty would have it.

/** A message or envelope that cannot be decoded; the text says where. */
export class ProtoDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoDecodeError';
  }
}

export type FieldType = 'string' | 'bool' | 'int32' | 'time' | 'map';

export interface Field {
  /** The field's name in the API's JSON. */
  name: string;
  type: FieldType | Schema;
  repeated?: boolean;
}

/** Field number → field; numbers not listed are skipped. */
export type Schema = { readonly [fieldNumber: number]: Field };

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/**
 * A cursor over buf[pos, end) for walking envelopes and lists field by field (see `fields`); it reads through
 * the same functions as decodeMessage, on its own position.
 */
export class ProtoReader {
  /** The low 32 bits of the last varint, for int32 fields (a negative int32 is a 10-byte varint). */
  private low32 = 0;

  constructor(
    readonly buf: Buffer,
    public pos = 0,
    readonly end = buf.length,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Runs `read` on the shared cursor set to this reader's position, and keeps where it stopped. */
  private at<T>(read: () => T): T {
    buf = this.buf;
    pos = this.pos;
    const value = read();
    this.pos = pos;
    this.low32 = low32;
    return value;
  }

  /** An unsigned varint, exact below 2^53 (lengths, int64 seconds, bools). */
  varint(): number {
    return this.at(() => varint(this.end));
  }

  int32(): number {
    this.varint();
    return this.low32;
  }

  /** A length-delimited field's bounds, checked against the enclosing message. */
  span(): [start: number, end: number] {
    return this.at(() => {
      const stop = lengthEnd(this.end);
      const start = pos;
      pos = stop;
      return [start, stop];
    });
  }

  string(): string {
    return this.at(() => stringValue(this.end));
  }

  /** Skips a field of the given wire type. */
  skip(wireType: number, fieldNumber: number): void {
    this.at(() => skip(wireType, fieldNumber, this.end));
  }
}

const WIRE_OF: Record<FieldType, number> = { string: WIRE_LENGTH, bool: WIRE_VARINT, int32: WIRE_VARINT, time: WIRE_LENGTH, map: WIRE_LENGTH };

// decodeMessage walks one buffer with one cursor (these three) rather than a reader object per nested message:
// a list page has tens of thousands of small messages, and every object allocated is garbage the young
// generation must sweep while the first sync runs. Synchronous, so never re-entered.
let buf: Buffer = Buffer.alloc(0);
let pos = 0;
let low32 = 0;

function varint(end: number): number {
  let result = 0;
  let low = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= end) throw new ProtoDecodeError(`truncated varint at byte ${pos}`);
    if (shift > 63) throw new ProtoDecodeError(`varint longer than 10 bytes at byte ${pos}`);
    const b = buf[pos++]!;
    if (shift < 32) low |= (b & 0x7f) << shift;
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      low32 = low | 0;
      return result;
    }
  }
}

/** A length-delimited value's end; the cursor is left at its start. */
function lengthEnd(end: number): number {
  const length = varint(end);
  if (length > end - pos) throw new ProtoDecodeError(`length ${length} at byte ${pos} runs past the end of its message (${end - pos} bytes left)`);
  return pos + length;
}

function skip(wireType: number, fieldNumber: number, end: number): void {
  let n: number;
  switch (wireType) {
    case WIRE_VARINT:
      varint(end);
      return;
    case WIRE_LENGTH:
      pos = lengthEnd(end);
      return;
    case WIRE_FIXED64:
      n = 8;
      break;
    case WIRE_FIXED32:
      n = 4;
      break;
    default:
      throw new ProtoDecodeError(`field ${fieldNumber} has unsupported wire type ${wireType} at byte ${pos}`);
  }
  if (n > end - pos) throw new ProtoDecodeError(`truncated fixed-width field at byte ${pos}`);
  pos += n;
}

function stringValue(end: number): string {
  const stop = lengthEnd(end);
  const text = buf.toString('utf8', pos, stop);
  pos = stop;
  return text;
}

/** Decodes buf[start, end) as a message of `schema` into a JSON-shaped object. */
export function decodeMessage(buffer: Buffer, schema: Schema, start = 0, end = buffer.length): Record<string, unknown> {
  buf = buffer;
  pos = start;
  return messageValue(schema, end);
}

function messageValue(schema: Schema, end: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  while (pos < end) {
    const key = varint(end);
    const fieldNumber = Math.floor(key / 8);
    const wireType = key & 7;
    const field = schema[fieldNumber];
    if (field === undefined) {
      skip(wireType, fieldNumber, end);
      continue;
    }
    const expected = typeof field.type === 'string' ? WIRE_OF[field.type] : WIRE_LENGTH;
    if (wireType !== expected) throw new ProtoDecodeError(`${field.name} (field ${fieldNumber}) has wire type ${wireType}, expected ${expected}`);
    try {
      switch (field.type) {
        case 'string': {
          const value = stringValue(end);
          if (field.repeated) ((out[field.name] ??= []) as unknown[]).push(value);
          else if (value !== '') out[field.name] = value;
          break;
        }
        case 'bool':
          out[field.name] = varint(end) !== 0;
          break;
        case 'int32':
          varint(end);
          out[field.name] = low32;
          break;
        case 'time':
          out[field.name] = timeValue(end);
          break;
        case 'map':
          mapEntry(((out[field.name] ??= {}) as Record<string, string>), end);
          break;
        default: {
          const stop = lengthEnd(end);
          const value = messageValue(field.type, stop);
          if (field.repeated) ((out[field.name] ??= []) as unknown[]).push(value);
          else out[field.name] = value;
        }
      }
    } catch (err) {
      throw err instanceof ProtoDecodeError ? new ProtoDecodeError(`${field.name}: ${err.message}`) : err;
    }
  }
  return out;
}

/**
 * meta/v1 Time {seconds = 1, nanos = 2} as the RFC 3339 text JSON carries: whole seconds, as JSON has them, so
 * both encodings give the same times.
 */
function timeValue(end: number): string {
  const stop = lengthEnd(end);
  let seconds = 0;
  while (pos < stop) {
    const key = varint(stop);
    if (key === (1 << 3) + WIRE_VARINT) seconds = varint(stop);
    else skip(key & 7, Math.floor(key / 8), stop);
  }
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** A map<string, string> entry {key = 1, value = 2}, added to `into`. */
function mapEntry(into: Record<string, string>, end: number): void {
  const stop = lengthEnd(end);
  let k = '';
  let v = '';
  while (pos < stop) {
    const key = varint(stop);
    if (key === (1 << 3) + WIRE_LENGTH) k = stringValue(stop);
    else if (key === (2 << 3) + WIRE_LENGTH) v = stringValue(stop);
    else skip(key & 7, Math.floor(key / 8), stop);
  }
  into[k] = v;
}

/** Each field of buf[start, end) as (number, wire type, reader positioned at its value). */
export function* fields(buf: Buffer, start = 0, end = buf.length): Generator<{ fieldNumber: number; wireType: number; r: ProtoReader }> {
  const r = new ProtoReader(buf, start, end);
  while (!r.done) {
    const key = r.varint();
    const fieldNumber = Math.floor(key / 8);
    const wireType = key & 7;
    const before = r.pos;
    yield { fieldNumber, wireType, r };
    if (r.pos === before) r.skip(wireType, fieldNumber); // the consumer did not read it
  }
}

/**
 * Splits a protobuf watch stream into its messages: each frame is a 4-byte big-endian length and that many bytes
 * (apimachinery's length-delimited framer). Fed chunks as they arrive; returns the complete frames. A frame longer
 * than `maxFrameBytes` is an error (an object is at most etcd's 1.5 MiB; a wrong length would buffer forever).
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxFrameBytes = 16 * 1024 * 1024) {}

  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.pendingBytes < 4) break;
      const head = this.pending[0]!.length >= 4 ? this.pending[0]! : this.flatten();
      const length = head.readUInt32BE(0);
      if (length > this.maxFrameBytes) throw new ProtoDecodeError(`watch frame of ${length} bytes is over the ${this.maxFrameBytes}-byte limit`);
      if (this.pendingBytes < 4 + length) break;
      const all = this.flatten();
      frames.push(all.subarray(4, 4 + length));
      const rest = all.subarray(4 + length);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    return frames;
  }

  private flatten(): Buffer {
    if (this.pending.length > 1) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
    return this.pending[0]!;
  }
}
