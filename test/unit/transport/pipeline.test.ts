// The pipeline without sockets: handler chain and PASS, failures as SERVFAIL, drops and malformed queries
// counted, the fast path replaying what the full path answered, every answered query observed once, and
// drained() for a graceful stop.
import assert from 'node:assert/strict';
import type { QueryEvent } from '../../../src/dns/exchange.js';
import type { Reply } from '../../../src/dns/message.js';
import { ReplayCache } from '../../../src/dns/replay.js';
import { type Handler, PASS } from '../../../src/resolve/handler.js';
import { Pipeline } from '../../../src/transport/pipeline.js';
import { buildQuery } from '../../helpers/dns-client.js';
import { addressReply as A } from '../../helpers/replies.js';

const rcodeOf = (b: Buffer | undefined): number => b![3]! & 0x0f;

describe('transport/pipeline', () => {
  it('runs handlers until one answers; nobody answering is REFUSED', () => {
    const seen: string[] = [];
    const pass: Handler = (q) => (seen.push(q.name), PASS);
    const p = new Pipeline({ handlers: [pass, pass] });
    assert.equal(rcodeOf(p.process(buildQuery('x.example', 1, {}), 'udp') as Buffer), 5);
    assert.deepEqual(seen, ['x.example', 'x.example']);
  });

  it('a handler that throws or rejects is a SERVFAIL, reported and counted', async () => {
    const errors: unknown[] = [];
    const p = new Pipeline({ handlers: [() => { throw new Error('boom'); }], onHandlerError: (e) => errors.push(e) });
    assert.equal(rcodeOf(p.process(buildQuery('x.example', 1, {}), 'udp') as Buffer), 2);
    const q = new Pipeline({ handlers: [async () => { throw new Error('later'); }], onHandlerError: (e) => errors.push(e) });
    assert.equal(rcodeOf(await q.process(buildQuery('x.example', 1, {}), 'udp')), 2);
    assert.equal(errors.length, 2);
    assert.equal(p.stats.handlerErrors + q.stats.handlerErrors, 2);
  });

  it('drops what is shorter than a header or a reply; answers FORMERR to a second question', () => {
    const p = new Pipeline({ handlers: [() => A('x')] });
    assert.equal(p.process(Buffer.alloc(5), 'udp'), undefined);
    const reply = buildQuery('x.example', 1, {});
    reply[2]! |= 0x80;
    assert.equal(p.process(reply, 'udp'), undefined);
    assert.equal(Object.values(p.stats.dropped).reduce((a, b) => a + b, 0), 2);
    const two = buildQuery('x.example', 1, {});
    two.writeUInt16BE(2, 4);
    assert.equal(rcodeOf(p.process(two, 'udp') as Buffer), 1);
    assert.equal(p.stats.malformed, 1);
  });

  it('truncates at 512 bytes over UDP without EDNS, not over TCP', () => {
    const p = new Pipeline({ handlers: [() => A('big.example', 60)] });
    const udp = p.process(buildQuery('big.example', 1, {}), 'udp') as Buffer;
    assert.ok(udp.length <= 512 && (udp[2]! & 0x02) !== 0, 'TC over UDP');
    const tcp = p.process(buildQuery('big.example', 1, {}), 'tcp') as Buffer;
    assert.equal(tcp.readUInt16BE(6), 60);
  });

  it('replays what the full path answered while the generation holds, observing both', () => {
    const events: QueryEvent['kind'][] = [];
    let generation = 1;
    let asked = 0;
    const p = new Pipeline({
      handlers: [(q) => (asked++, A(q.name))],
      observe: (e) => events.push(e.kind),
      fastPath: { cache: new ReplayCache(), generation: () => generation, variants: (r) => [r] },
    });
    const first = p.process(buildQuery('web.example', 1, { id: 1 }), 'udp') as Buffer;
    const second = p.process(buildQuery('web.example', 1, { id: 1 }), 'udp') as Buffer;
    assert.deepEqual(second, first);
    assert.equal(asked, 1);
    generation = 2;
    p.process(buildQuery('web.example', 1, { id: 1 }), 'udp');
    assert.equal(asked, 2, 'a new generation takes the full path again');
    assert.deepEqual(events, ['answered', 'replayed', 'answered']);
    assert.equal(p.stats.queries, 3);
  });

  it('drained() waits for the queries still waiting on a handler', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const p = new Pipeline({ handlers: [async (q) => (await gate, A(q.name))] });
    await p.drained(); // nothing in flight: at once
    const pending = p.process(buildQuery('slow.example', 1, {}), 'udp') as Promise<Buffer | undefined>;
    let drained = false;
    const d = p.drained().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(drained, false);
    release();
    assert.ok(await pending);
    await d;
    assert.equal(p.inFlight, 0);
  });
});
