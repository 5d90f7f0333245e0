// A few lines of protobuf writing for unit tests of the decoder: field keys, varints, length-delimited fields,
// and the Kubernetes "k8s\0" envelope. Independent of src/kube/protobuf.ts, so a decoder bug is not mirrored.

export function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return Buffer.from(out);
}

const key = (fieldNumber: number, wireType: number): Buffer => varint(fieldNumber * 8 + wireType);

export const int = (fieldNumber: number, n: number | bigint): Buffer => Buffer.concat([key(fieldNumber, 0), varint(n)]);
export const bool = (fieldNumber: number, b: boolean): Buffer => int(fieldNumber, b ? 1 : 0);
export const bytes = (fieldNumber: number, payload: Buffer): Buffer => Buffer.concat([key(fieldNumber, 2), varint(payload.length), payload]);
export const str = (fieldNumber: number, s: string): Buffer => bytes(fieldNumber, Buffer.from(s, 'utf8'));
export const msg = (fieldNumber: number, ...parts: Buffer[]): Buffer => bytes(fieldNumber, Buffer.concat(parts));
export const fixed32 = (fieldNumber: number): Buffer => Buffer.concat([key(fieldNumber, 5), Buffer.alloc(4, 7)]);
export const fixed64 = (fieldNumber: number): Buffer => Buffer.concat([key(fieldNumber, 1), Buffer.alloc(8, 7)]);
/** A map<string, string> entry. */
export const entry = (fieldNumber: number, k: string, v: string): Buffer => msg(fieldNumber, str(1, k), str(2, v));

/** "k8s\0" + runtime.Unknown {typeMeta {apiVersion, kind}, raw}. */
export function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), msg(1, str(1, apiVersion), str(2, kind)), bytes(2, raw)]);
}

/** A watch stream frame: 4-byte big-endian length, then the WatchEvent {type, object {raw}}. */
export function watchFrame(type: string, object: Buffer): Buffer {
  const event = Buffer.concat([str(1, type), msg(2, bytes(1, object))]);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(event.length);
  return Buffer.concat([head, event]);
}
