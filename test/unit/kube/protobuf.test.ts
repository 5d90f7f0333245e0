// The protobuf reader and the Kubernetes envelopes, lists and watch frames, on bytes written by a separate
// writer (test/helpers/proto-writer.ts). The integration suite compares the decoder with JSON on the real API
// server; these pin the wire rules and the errors.
import assert from 'node:assert/strict';
import { decodeListPage, decodeObject, decodeWatchEvent, FrameReader, statusMessage } from '../../../src/kube/proto-objects.js';
import { decodeMessage, ProtoDecodeError, ProtoReader, type Schema } from '../../../src/kube/protobuf.js';
import { bool, bytes, entry, envelope, fixed32, fixed64, int, msg, str, varint, watchFrame } from '../../helpers/proto-writer.js';

const SCHEMA: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'flag', type: 'bool' },
  3: { name: 'port', type: 'int32' },
  4: { name: 'tags', type: 'string', repeated: true },
  5: { name: 'labels', type: 'map' },
  6: { name: 'when', type: 'time' },
  7: { name: 'inner', type: { 1: { name: 'x', type: 'string' } }, repeated: true },
};

const service = (name: string, namespace: string, ip: string): Buffer =>
  Buffer.concat([msg(1, str(1, name), str(3, namespace), str(6, '42')), msg(2, msg(1, str(1, 'http'), str(2, 'TCP'), int(3, 80)), str(3, ip), str(4, 'ClusterIP'))]);

describe('kube/protobuf: the wire reader', () => {
  it('reads varints up to 10 bytes; an int32 keeps its low 32 bits, so -1 is -1', () => {
    assert.equal(new ProtoReader(varint(300)).varint(), 300);
    assert.equal(new ProtoReader(varint(2 ** 40 + 5)).varint(), 2 ** 40 + 5);
    const minusOne = varint(-1);
    assert.equal(minusOne.length, 10);
    assert.equal(new ProtoReader(minusOne).int32(), -1);
    assert.throws(() => new ProtoReader(Buffer.from([0x80, 0x80])).varint(), /truncated varint at byte 2/);
    assert.throws(() => new ProtoReader(Buffer.alloc(11, 0xff)).varint(), /varint longer than 10 bytes/);
  });

  it('decodes strings, bools, int32s, repeated fields, maps, times and nested messages into JSON names', () => {
    const buf = Buffer.concat([
      str(1, 'wëb'), bool(2, false), int(3, 8080), str(4, 'a'), str(4, ''), entry(5, 'k', 'v'), entry(5, 'k2', ''),
      msg(6, int(1, 1_764_000_000), int(2, 999_000_000)), msg(7, str(1, 'one')), msg(7),
    ]);
    assert.deepEqual(decodeMessage(buf, SCHEMA), {
      name: 'wëb', flag: false, port: 8080, tags: ['a', ''], labels: { k: 'v', k2: '' },
      when: '2025-11-24T16:00:00Z', inner: [{ x: 'one' }, {}],
    });
  });

  it('drops an empty single string, as JSON omits it, and skips fields it has no schema for', () => {
    const buf = Buffer.concat([str(1, ''), int(9, 5), fixed32(10), fixed64(11), msg(12, str(1, 'ignored')), int(3, 0)]);
    assert.deepEqual(decodeMessage(buf, SCHEMA), { port: 0 });
  });

  it('fails with the field and the reason: wrong wire type, a length past the end, a group', () => {
    assert.throws(() => decodeMessage(int(1, 5), SCHEMA), new ProtoDecodeError('name (field 1) has wire type 0, expected 2'));
    const cut = str(1, 'hello').subarray(0, 4);
    assert.throws(() => decodeMessage(cut, SCHEMA), /length 5 at byte 2 runs past the end of its message \(2 bytes left\)/);
    assert.throws(() => decodeMessage(msg(7, Buffer.from([0x13])), SCHEMA), /^ProtoDecodeError: inner: field 2 has unsupported wire type 3 at byte 3/);
  });
});

describe('kube/proto-objects: envelopes, list pages, watch frames', () => {
  it('decodes a ServiceList page with its resourceVersion and continue token', () => {
    const list = Buffer.concat([msg(1, str(2, '1234'), str(3, 'next-token')), bytes(2, service('web', 'ns', '10.0.0.1')), bytes(2, service('db', 'ns', 'None'))]);
    const page = decodeListPage(envelope('v1', 'ServiceList', list));
    assert.equal(page.resourceVersion, '1234');
    assert.equal(page.continue, 'next-token');
    assert.deepEqual(page.item(0), {
      metadata: { name: 'web', namespace: 'ns', resourceVersion: '42' },
      spec: { ports: [{ name: 'http', protocol: 'TCP', port: 80 }], clusterIP: '10.0.0.1', type: 'ClusterIP' },
    });
    assert.equal(page.count, 2);
  });

  it('names the item that does not decode, and refuses other kinds, a Status and a compressed envelope', () => {
    const bad = Buffer.concat([msg(1, str(1, 'broken'), str(3, 'ns')), int(2, 1)]);
    const list = Buffer.concat([bytes(2, service('ok', 'ns', '10.0.0.1')), bytes(2, bad)]);
    const page = decodeListPage(envelope('v1', 'ServiceList', list));
    assert.equal(page.item(0).metadata?.name, 'ok');
    assert.throws(() => page.item(1), new ProtoDecodeError('items[1] (ns/broken): spec (field 2) has wire type 0, expected 2'));
    const cut = envelope('v1', 'ServiceList', Buffer.concat([bytes(2, service('ok', 'ns', '10.0.0.1')), Buffer.from([0x12, 0x7f, 0x0a])]));
    assert.throws(() => decodeListPage(cut), /^ProtoDecodeError: items\[1\]: length 127 at byte \d+ runs past the end/);
    assert.throws(() => decodeListPage(envelope('v1', 'ConfigMapList', Buffer.alloc(0))), /unexpected kind "ConfigMapList"/);
    const status = envelope('v1', 'Status', Buffer.concat([str(2, 'Failure'), str(3, 'too old'), int(6, 410)]));
    assert.throws(() => decodeListPage(status), /answered a Status: 410 too old/);
    const gzipped = Buffer.concat([envelope('v1', 'ServiceList', Buffer.alloc(0)), str(3, 'gzip')]);
    assert.throws(() => decodeListPage(gzipped), /contentEncoding "gzip" is not supported/);
    assert.equal(statusMessage(status), 'too old');
    assert.equal(statusMessage(Buffer.from('{"message":"json"}')), undefined);
  });

  it('decodes watch frames, split anywhere across chunks, and an ERROR event carrying a 410 Status', () => {
    const added = watchFrame('ADDED', envelope('v1', 'Service', service('web', 'ns', '10.0.0.1')));
    const gone = watchFrame('ERROR', envelope('v1', 'Status', Buffer.concat([str(2, 'Failure'), int(6, 410)])));
    const stream = Buffer.concat([added, gone]);
    for (const cut of [1, 3, 4, 5, added.length, added.length + 2]) {
      const reader = new FrameReader();
      const frames = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      assert.equal(frames.length, 2, `cut at ${cut}`);
      const first = decodeWatchEvent(frames[0]!);
      assert.equal(first.type, 'ADDED');
      assert.equal(first.object.kind, 'Service');
      assert.equal(first.object.metadata?.name, 'web');
      const error = decodeWatchEvent(frames[1]!);
      assert.deepEqual([error.type, error.object.kind, error.object.code], ['ERROR', 'Status', 410]);
    }
    assert.deepEqual(decodeObject(envelope('v1', 'Namespace', msg(1, str(1, 'n'), entry(11, 'a', 'b')))), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', labels: { a: 'b' } } });
  });

  it('reads a BOOKMARK for its resourceVersion and annotations, whatever its kind keeps of them otherwise', () => {
    // A Service's schema has no annotations; the bookmark that ends a watch's initial events carries its mark there.
    const mark = watchFrame('BOOKMARK', envelope('v1', 'Service', msg(1, str(6, '7788'), entry(12, 'k8s.io/initial-events-end', 'true'))));
    const [frame] = new FrameReader().push(mark);
    assert.deepEqual(decodeWatchEvent(frame!), { type: 'BOOKMARK', object: { apiVersion: 'v1', kind: 'Service', metadata: { resourceVersion: '7788', annotations: { 'k8s.io/initial-events-end': 'true' } } } });
    const plain = watchFrame('ADDED', envelope('v1', 'Service', msg(1, str(1, 'web'), entry(12, 'k8s.io/initial-events-end', 'true'))));
    assert.equal(decodeWatchEvent(new FrameReader().push(plain)[0]!).object.metadata?.annotations, undefined, 'an ordinary Service still skips them');
  });

  it('refuses a frame longer than its limit instead of buffering it', () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1 << 30);
    assert.throws(() => new FrameReader().push(head), /watch frame of 1073741824 bytes is over the 16777216-byte limit/);
  });
});
