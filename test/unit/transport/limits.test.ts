// The transports' memory limits on real loopback sockets: a TCP client that never reads is paused and its
// queued bytes stay bounded; replies for a connection that is gone are dropped, not written; past
// --max-in-flight a query that would wait is REFUSED at once; a client that half-closes still gets every reply.
import assert from 'node:assert/strict';
import net from 'node:net';
import { FrameSplitter } from '../../../src/dns/framing.js';
import type { Handler } from '../../../src/resolve/handler.js';
import { Pipeline } from '../../../src/transport/pipeline.js';
import { DEFAULT_TCP_OPTIONS, type TcpListener, listenTcp } from '../../../src/transport/tcp.js';
import { buildQuery } from '../../helpers/dns-client.js';
import { eventually } from '../../helpers/eventually.js';
import { addressReply } from '../../helpers/replies.js';

const framed = (p: Buffer): Buffer => Buffer.concat([Buffer.from([p.length >> 8, p.length & 0xff]), p]);

describe('transport limits', function () {
  this.timeout(30_000);
  let listener: TcpListener | undefined;
  afterEach(async () => listener?.close());

  it('stops reading from a TCP client that never reads its replies, and keeps its queue bounded', async () => {
    // ~3 KB replies fill the kernel's buffers quickly; then our own queue would grow without the limit.
    const pipeline = new Pipeline({ handlers: [(q) => addressReply(q.name, 180)] });
    const limit = 64 * 1024;
    listener = await listenTcp(pipeline, '127.0.0.1', 0, { ...DEFAULT_TCP_OPTIONS, maxQueuedBytesPerConnection: limit }, () => {});
    const client = net.connect(listener.address.port, '127.0.0.1');
    client.pause(); // never reads
    client.on('error', () => {});
    const burst = Buffer.concat(Array.from({ length: 500 }, (_, i) => framed(buildQuery('big.example', 1, { id: i }))));
    let peak = 0;
    const writer = setInterval(() => client.write(burst), 5);
    try {
      await eventually(20_000, 'the connection paused for backpressure', () => {
        peak = Math.max(peak, pipeline.transport.queuedBytes);
        return pipeline.transport.paused >= 1;
      });
      for (let i = 0; i < 20; i++) {
        peak = Math.max(peak, pipeline.transport.queuedBytes);
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(peak <= 4 * limit + 128 * 1024, `queued ${peak} bytes`);
    } finally {
      clearInterval(writer);
      client.destroy();
    }
    await eventually(3000, 'the queue released once the client is gone', () => pipeline.transport.queuedBytes === 0);
  });

  it('writes every reply to a client that half-closes after its queries and reads them late', async () => {
    // ~3 KB replies: 3000 of them are more than the kernel's buffers hold, so the last ones wait in our queue when
    // the client's FIN is read; the connection must stay open for them, not end with them unsent.
    const pipeline = new Pipeline({ handlers: [(q) => addressReply(q.name, 180)] });
    listener = await listenTcp(pipeline, '127.0.0.1', 0, DEFAULT_TCP_OPTIONS, () => {});
    const client = net.connect(listener.address.port, '127.0.0.1');
    client.pause();
    client.on('error', () => {});
    await new Promise<void>((r) => client.on('connect', r));
    const n = 3000;
    client.end(Buffer.concat(Array.from({ length: n }, (_, i) => framed(buildQuery('big.example', 1, { id: i })))));
    await new Promise((r) => setTimeout(r, 500)); // not reading yet: the server fills the kernel's buffers and queues
    const frames = new FrameSplitter();
    let replies = 0;
    const ended = new Promise<void>((r) => client.on('end', r));
    client.on('data', (d: Buffer) => {
      frames.push(d);
      while (frames.next()) replies++;
      // A slow reader: the kernel's buffers stay nearly full, so replies keep waiting in the server's queue.
      client.pause();
      setTimeout(() => client.resume(), 2);
    });
    client.resume();
    await ended;
    assert.equal(replies, n, `${n} queries, ${replies} replies before the server ended the connection`);
  });

  it('does not write a reply for a connection that is gone (counted as dropped)', async () => {
    let release: (() => void) | undefined;
    const slow: Handler = (q) => new Promise((r) => (release = () => r(addressReply(q.name, 1))));
    const pipeline = new Pipeline({ handlers: [slow] });
    listener = await listenTcp(pipeline, '127.0.0.1', 0, DEFAULT_TCP_OPTIONS, () => {});
    const client = net.connect(listener.address.port, '127.0.0.1');
    client.on('error', () => {});
    await new Promise<void>((r) => client.on('connect', r));
    client.write(framed(buildQuery('slow.example', 1, {})));
    await eventually(3000, 'the query reached the handler', () => release !== undefined);
    client.resetAndDestroy(); // a FIN alone is a half-close, after which the answer is still due
    await eventually(3000, 'the server saw the reset', () => listener!.connections() === 0);
    release!();
    await eventually(3000, 'the reply dropped', () => pipeline.transport.dropped.tcp === 1);
  });

  it('answers REFUSED at once past --max-in-flight, and counts it', () => {
    const never: Handler = () => new Promise(() => {});
    const pipeline = new Pipeline({ handlers: [never] });
    pipeline.maxInFlight = 2;
    assert.ok(pipeline.process(buildQuery('a.example', 1, {}), 'udp') instanceof Promise);
    assert.ok(pipeline.process(buildQuery('b.example', 1, {}), 'udp') instanceof Promise);
    const third = pipeline.process(buildQuery('c.example', 1, {}), 'udp');
    assert.ok(Buffer.isBuffer(third));
    assert.equal(third[3]! & 0x0f, 5, 'REFUSED');
    assert.equal(pipeline.transport.refusedInFlight, 1);
  });
});
