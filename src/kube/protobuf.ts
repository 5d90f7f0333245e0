// The protobuf wire format, read straight into plain objects shaped like the API's JSON, for the few fields DNS
// reads (kube/proto-objects.ts holds those schemas). Everything else is skipped by its length without being
// looked at: a Service's managedFields, annotations of other tools, status. That is what makes a protobuf list
// cheaper than JSON.parse of the same list, which must build every field of every object.
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

/** A cursor over buf[pos, end). */
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

  /** An unsigned varint, exact below 2^53 (lengths, int64 seconds, bools). */
  varint(): number {
    let result = 0;
    let low = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.end) throw new ProtoDecodeError(`truncated varint at byte ${this.pos}`);
      if (shift > 63) throw new ProtoDecodeError(`varint longer than 10 bytes at byte ${this.pos}`);
      const b = this.buf[this.pos++]!;
      if (shift < 32) low |= (b & 0x7f) << shift;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        this.low32 = low | 0;
        return result;
      }
    }
  }

  int32(): number {
    this.varint();
    return this.low32;
  }

  /** A length-delimited field's bounds, checked against the enclosing message. */
  span(): [start: number, end: number] {
    const length = this.varint();
    const start = this.pos;
    if (length > this.end - start) throw new ProtoDecodeError(`length ${length} at byte ${start} runs past the end of its message (${this.end - start} bytes left)`);
    this.pos = start + length;
    return [start, start + length];
  }

  string(): string {
    const [start, end] = this.span();
    return this.buf.toString('utf8', start, end);
  }

  /** Skips a field of the given wire type. */
  skip(wireType: number, fieldNumber: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LENGTH:
        this.span();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new ProtoDecodeError(`field ${fieldNumber} has unsupported wire type ${wireType} at byte ${this.pos}`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new ProtoDecodeError(`truncated fixed-width field at byte ${this.pos}`);
    this.pos += n;
  }
}

const WIRE_OF: Record<FieldType, number> = { string: WIRE_LENGTH, bool: WIRE_VARINT, int32: WIRE_VARINT, time: WIRE_LENGTH, map: WIRE_LENGTH };

/** Decodes buf[start, end) as a message of `schema` into a JSON-shaped object. */
export function decodeMessage(buf: Buffer, schema: Schema, start = 0, end = buf.length): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const r = new ProtoReader(buf, start, end);
  while (!r.done) {
    const key = r.varint();
    const fieldNumber = Math.floor(key / 8);
    const wireType = key & 7;
    const field = schema[fieldNumber];
    if (field === undefined) {
      r.skip(wireType, fieldNumber);
      continue;
    }
    const expected = typeof field.type === 'string' ? WIRE_OF[field.type] : WIRE_LENGTH;
    if (wireType !== expected) throw new ProtoDecodeError(`${field.name} (field ${fieldNumber}) has wire type ${wireType}, expected ${expected}`);
    let value: unknown;
    try {
      value = fieldValue(r, field);
    } catch (err) {
      throw err instanceof ProtoDecodeError ? new ProtoDecodeError(`${field.name}: ${err.message}`) : err;
    }
    if (field.type === 'map') {
      const [k, v] = value as [string, string];
      ((out[field.name] ??= {}) as Record<string, string>)[k] = v;
    } else if (field.repeated) {
      ((out[field.name] ??= []) as unknown[]).push(value);
    } else if (value !== '') {
      out[field.name] = value;
    }
  }
  return out;
}

function fieldValue(r: ProtoReader, field: Field): unknown {
  switch (field.type) {
    case 'string':
      return r.string();
    case 'bool':
      return r.varint() !== 0;
    case 'int32':
      return r.int32();
    case 'time':
      return timeValue(r);
    case 'map':
      return mapEntry(r);
    default: {
      const [start, end] = r.span();
      return decodeMessage(r.buf, field.type, start, end);
    }
  }
}

/**
 * meta/v1 Time {seconds = 1, nanos = 2} as the RFC 3339 text JSON carries: whole seconds, as JSON has them, so
 * both encodings give the same times.
 */
function timeValue(r: ProtoReader): string {
  const [start, end] = r.span();
  const t = new ProtoReader(r.buf, start, end);
  let seconds = 0;
  while (!t.done) {
    const key = t.varint();
    if (key === (1 << 3) + WIRE_VARINT) seconds = t.varint();
    else t.skip(key & 7, Math.floor(key / 8));
  }
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** A map<string, string> entry {key = 1, value = 2}. */
function mapEntry(r: ProtoReader): [string, string] {
  const [start, end] = r.span();
  const e = new ProtoReader(r.buf, start, end);
  let k = '';
  let v = '';
  while (!e.done) {
    const key = e.varint();
    if (key === (1 << 3) + WIRE_LENGTH) k = e.string();
    else if (key === (2 << 3) + WIRE_LENGTH) v = e.string();
    else e.skip(key & 7, Math.floor(key / 8));
  }
  return [k, v];
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
