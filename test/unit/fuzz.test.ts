// Seeded fuzzing of the serving path over real sockets: random bytes and mutated queries over UDP, framed (and
// mis-framed) over TCP. After each phase the in-process server must not have thrown, must still answer correctly,
// and its pipeline counters must account for what was sent. Every reply that comes back must be a well-formed
// response to the packet it answers (checked with dns2, an independent decoder).
//
// The seed is printed; FUZZ_SEED=<n> replays a run (every phase draws from its own generator, so a single phase
// replays alike under --grep).
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import dns2 from 'dns2';
import { buildQuery, query } from '../helpers/dns-client.js';
import { Rng, mutatedQuery, randomPacket, validQuery, vocabularyQuery } from '../helpers/packets.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

const { Packet } = dns2;


const SEED = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) >>> 0 : (Date.now() ^ (process.pid << 10)) >>> 0;


// ---------------------------------------------------------------------------------------------------------
// The reply oracle

/** Whether the server must stay silent: shorter than a header, or a response. */
const mustDrop = (p: Buffer): boolean => p.length < 12 || (p[2]! & 0x80) !== 0;

/** End of the question section of a reply (its name is never compressed), or undefined. */
function questionEnd(r: Buffer): number | undefined {
  let pos = 12;
  while (pos < r.length && r[pos] !== 0) {
    if (r[pos]! & 0xc0) return undefined;
    pos += r[pos]! + 1;
  }
  return pos + 5 <= r.length ? pos + 5 : undefined;
}

class Oracle {
  readonly problems: string[] = [];
  replies = 0;
  private readonly answered = new Set<number>();

  constructor(private readonly proto: 'udp' | 'tcp') {}

  private fail(what: string, sent: Buffer | undefined, reply: Buffer): void {
    if (this.problems.length < 10) this.problems.push(`${what}\n    query ${sent?.toString('hex') ?? '?'}\n    reply ${reply.toString('hex')}`);
    else this.problems.push(what);
  }

  /** Checks one reply against the packet with its id (`sent` maps ids to packets). */
  check(reply: Buffer, sent: Map<number, Buffer>): void {
    this.replies++;
    if (reply.length < 12) return this.fail(`reply of ${reply.length} bytes`, undefined, reply);
    const id = reply.readUInt16BE(0);
    const q = sent.get(id);
    if (!q) return this.fail(`reply with unknown id ${id}`, undefined, reply);
    if (this.answered.has(id)) return this.fail(`second reply for id ${id}`, q, reply);
    this.answered.add(id);
    if (mustDrop(q)) return this.fail('reply to a packet that should have been dropped', q, reply);
    const flags = reply.readUInt16BE(2);
    const qflags = q.readUInt16BE(2);
    if (!(flags & 0x8000)) return this.fail('QR not set', q, reply);
    if ((flags & 0x7800) !== (qflags & 0x7800)) return this.fail('opcode not echoed', q, reply);
    if ((flags & 0x0110) !== (qflags & 0x0110)) return this.fail('RD/CD not echoed', q, reply);
    let parsed: InstanceType<typeof Packet>;
    try {
      parsed = Packet.parse(reply);
    } catch (err) {
      return this.fail(`dns2 cannot parse: ${(err as Error).message}`, q, reply);
    }
    if (parsed.errors.length) return this.fail(`dns2: ${parsed.errors.map((e) => e.message).join('; ')}`, q, reply);
    const qd = reply.readUInt16BE(4);
    if (qd > 1) return this.fail(`QDCOUNT ${qd}`, q, reply);
    if (qd === 1) {
      const end = questionEnd(reply);
      if (end === undefined || !reply.subarray(12, end).equals(q.subarray(12, end))) return this.fail('question not copied verbatim', q, reply);
      if (q.readUInt16BE(4) !== 1) return this.fail('question echoed for a query without exactly one', q, reply);
    }
    const hasOpt = parsed.additionals.some((r) => r.type === 41);
    if (this.proto === 'udp') {
      if (reply.length > 1232) return this.fail(`UDP reply of ${reply.length} bytes`, q, reply);
      if (!hasOpt && reply.length > 512) return this.fail(`UDP reply without OPT of ${reply.length} bytes`, q, reply);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Server-side accounting

interface Counts {
  queries: number;
  malformed: number;
  dropped: number;
  handlerErrors: number;
}

function counts(server: TestServer): Counts {
  const s = server.pipeline.stats;
  return { queries: s.queries, malformed: s.malformed, dropped: Object.values(s.dropped).reduce((a, b) => a + b, 0), handlerErrors: s.handlerErrors };
}

function delta(a: Counts, b: Counts): Counts {
  return { queries: b.queries - a.queries, malformed: b.malformed - a.malformed, dropped: b.dropped - a.dropped, handlerErrors: b.handlerErrors - a.handlerErrors };
}

const processed = (c: Counts): number => c.queries + c.malformed + c.dropped;

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await tick();
}

// ---------------------------------------------------------------------------------------------------------
// Senders

const UDP_BATCH = 100;

/** Sends the packets over UDP in paced batches; each batch waits (briefly) until the server has read it. */
async function fuzzUdp(server: TestServer, packets: Buffer[]): Promise<{ oracle: Oracle; d: Counts; ms: number }> {
  const oracle = new Oracle('udp');
  const sent = new Map<number, Buffer>();
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg) => oracle.check(msg, sent));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    /* capped by the kernel: pacing keeps the queue short anyway */
  }
  const before = counts(server);
  const t0 = Date.now();
  try {
    for (let i = 0; i < packets.length; i += UDP_BATCH) {
      const batch = packets.slice(i, i + UDP_BATCH);
      for (const [j, p] of batch.entries()) {
        if (p.length >= 2) p.writeUInt16BE((i + j) & 0xffff, 0); // ids index the packets: the oracle finds the query
        sent.set((i + j) & 0xffff, p);
        socket.send(p, server.port, '127.0.0.1');
      }
      const target = i + batch.length;
      await waitFor(() => processed(delta(before, counts(server))) >= target, 300);
    }
    const d = (): Counts => delta(before, counts(server));
    await waitFor(() => processed(d()) >= packets.length, 1000);
    await waitFor(() => oracle.replies >= d().queries + d().malformed, 1000);
    return { oracle, d: d(), ms: Date.now() - t0 };
  } finally {
    socket.close();
  }
}

interface TcpPlan {
  /** The exact bytes written, in chunks. */
  chunks: Buffer[];
  /** The messages the server will see (the stream split by its own length prefixes, as RFC 1035 §4.2.2 reads it). */
  frames: Buffer[];
  /** Destroy the socket after writing instead of half-closing it. */
  abort?: boolean;
}

/** Splits a byte stream by its length prefixes; an incomplete tail is not a message. */
function framesOf(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (stream.length - pos >= 2 && stream.length - pos - 2 >= stream.readUInt16BE(pos)) {
    const len = stream.readUInt16BE(pos);
    out.push(stream.subarray(pos + 2, pos + 2 + len));
    pos += 2 + len;
  }
  return out;
}

function chop(rng: Rng, stream: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let pos = 0; pos < stream.length; ) {
    const n = rng.chance(0.1) ? rng.range(1, 3) : rng.range(1, 3000);
    chunks.push(stream.subarray(pos, pos + n));
    pos += n;
  }
  return chunks;
}

function prefixed(p: Buffer, len = p.length): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(len);
  return Buffer.concat([b, p]);
}

/** Runs one connection's plan; resolves with the reply frames once the server has closed (or after `ms`). */
function runTcp(port: number, plan: TcpPlan, ms: number): Promise<{ replies: Buffer[]; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ replies, closedByServer });
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (const f of framesOf(buf)) {
        replies.push(Buffer.from(f));
        buf = buf.subarray(2 + f.length);
      }
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(!plan.abort));
    socket.on('error', () => finish(false));
    socket.on('connect', async () => {
      for (const [i, c] of plan.chunks.entries()) {
        if (socket.destroyed) return;
        socket.write(c);
        if (i % 8 === 7) await tick();
      }
      if (plan.abort) socket.resetAndDestroy();
      else socket.end();
    });
  });
}

// ---------------------------------------------------------------------------------------------------------

describe('fuzz (seeded)', function () {
  this.timeout(60000);
  let server: TestServer;
  const uncaught: unknown[] = [];
  const record = (err: unknown): void => {
    uncaught.push(err);
  };

  before(async () => {
    console.log(`      fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
    server = await startTestServer(['--manifests', 'examples']);
  });
  after(async () => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
    await server?.stop();
  });

  /** No exception escaped, the counters say no handler failed, and a real query still gets the real answer. */
  async function assertHealthy(): Promise<void> {
    assert.deepEqual(uncaught, [], 'no uncaught exception or unhandled rejection');
    assert.equal(server.pipeline.stats.handlerErrors, 0, 'no handler failed');
    for (const tcp of [false, true]) {
      const p = await query(server.port, 'web.demo.svc.cluster.local', 1, { tcp });
      assert.equal(p.header.rcode, 0);
      assert.deepEqual(
        p.answers.map((a) => [a.name, a.type, a.address]),
        [['web.demo.svc.cluster.local', 1, '10.96.100.10']],
      );
    }
  }

  function assertOracle(oracle: Oracle): void {
    assert.equal(oracle.problems.length, 0, `${oracle.problems.length} bad replies (seed ${SEED}):\n  ${oracle.problems.slice(0, 10).join('\n  ')}`);
  }

  function udpPhase(title: string, phase: number, n: number, gen: (rng: Rng) => Buffer): void {
    it(`${title}: ${n} packets over UDP`, async () => {
      const rng = new Rng(SEED + phase);
      const packets = Array.from({ length: n }, () => gen(rng));
      const shouldDrop = packets.filter(mustDrop).length;
      const { oracle, d, ms } = await fuzzUdp(server, packets);
      const answerable = d.queries + d.malformed;
      console.log(`      ${n} sent in ${ms} ms: ${d.queries} queries, ${d.malformed} malformed, ${d.dropped} dropped (${shouldDrop} expected), ${oracle.replies} replies`);
      assertOracle(oracle);
      // UDP may lose packets on loopback under load: the server's counts may fall short of what was sent, never beyond.
      assert.ok(processed(d) <= n, `processed ${processed(d)} of ${n}`);
      assert.ok(processed(d) >= 0.9 * n, `only ${processed(d)} of ${n} packets reached the pipeline`);
      assert.ok(d.dropped > 0 && d.dropped <= shouldDrop, `dropped ${d.dropped}, at most ${shouldDrop} should be`);
      assert.ok(d.malformed > 0, 'some packets were malformed');
      assert.ok(answerable >= 0.9 * (n - shouldDrop), `${answerable} answered of ${n - shouldDrop} answerable`);
      assert.ok(oracle.replies <= answerable, `${oracle.replies} replies for ${answerable} answered`);
      assert.ok(oracle.replies >= 0.9 * answerable, `only ${oracle.replies} replies arrived for ${answerable} answered`);
      await assertHealthy();
    });
  }

  udpPhase('random bytes (0-600 octets)', 1, 25000, randomPacket);
  udpPhase('mutated valid queries and odd names', 2, 25000, (rng) => (rng.chance(0.3) ? (rng.chance(0.7) ? vocabularyQuery(rng) : mutatedQuery(rng, vocabularyQuery(rng))) : mutatedQuery(rng)));

  it('well-framed fuzz: 6000 messages over TCP, 8 connections, random chunking', async () => {
    const rng = new Rng(SEED + 3);
    const oracle = new Oracle('tcp');
    const sent = new Map<number, Buffer>();
    const plans: TcpPlan[] = [];
    let id = 0;
    for (let c = 0; c < 8; c++) {
      const frames: Buffer[] = [];
      for (let k = 0; k < 750; k++) {
        const p = rng.chance(0.5) ? mutatedQuery(rng) : rng.chance(0.4) ? vocabularyQuery(rng) : randomPacket(rng);
        if (p.length >= 2) p.writeUInt16BE(id, 0);
        sent.set(id++, p);
        frames.push(p);
      }
      plans.push({ chunks: chop(rng, Buffer.concat(frames.map((f) => prefixed(f)))), frames });
    }
    const frames = plans.flatMap((p) => p.frames);
    const shouldDrop = frames.filter(mustDrop).length;
    const before = counts(server);
    const t0 = Date.now();
    const results = await Promise.all(plans.map((p) => runTcp(server.port, p, 20000)));
    const d = delta(before, counts(server));
    for (const r of results) for (const reply of r.replies) oracle.check(reply, sent);
    console.log(`      ${frames.length} sent in ${Date.now() - t0} ms: ${d.queries} queries, ${d.malformed} malformed, ${d.dropped} dropped, ${oracle.replies} replies`);
    assert.ok(
      results.every((r) => r.closedByServer),
      'every connection was closed by the server after its last answer',
    );
    assertOracle(oracle);
    // TCP loses nothing: every message is accounted for, every answerable one answered exactly once.
    assert.equal(processed(d), frames.length);
    assert.equal(d.dropped, shouldDrop);
    assert.equal(oracle.replies, frames.length - shouldDrop);
    assert.equal(d.queries + d.malformed, oracle.replies);
    assert.ok(d.malformed > 0 && d.queries > 0 && d.dropped > 0);
    await assertHealthy();
  });

  it('lying length prefixes over TCP: the server reads what the prefixes say, answers that, and survives', async () => {
    const rng = new Rng(SEED + 4);
    const plans: TcpPlan[] = [];
    for (let c = 0; c < 60; c++) {
      const parts: Buffer[] = [];
      for (let k = rng.range(5, 40); k > 0; k--) {
        const p = rng.chance(0.6) ? validQuery(rng) : mutatedQuery(rng);
        const lie = rng.chance(0.15);
        const len = !lie ? p.length : rng.pick([0, 1, 11, 12, p.length - 1, p.length + 1, p.length + 2, rng.int(0x10000), 0xffff]);
        parts.push(prefixed(p, Math.max(0, Math.min(0xffff, len))));
      }
      if (rng.chance(0.3)) parts.push(rng.bytes(1)); // half a length prefix at the end
      const stream = Buffer.concat(parts);
      plans.push({ chunks: chop(rng, stream), frames: framesOf(stream) });
    }
    const frames = plans.flatMap((p) => p.frames);
    const before = counts(server);
    const results = await Promise.all(plans.map((p) => runTcp(server.port, p, 20000)));
    const d = delta(before, counts(server));
    let replies = 0;
    const problems: string[] = [];
    results.forEach((r, i) => {
      // Ids may repeat inside these streams, so the check here is per reply, against any message of the connection.
      const answerable = plans[i]!.frames.filter((f) => !mustDrop(f));
      replies += r.replies.length;
      if (r.replies.length !== answerable.length) problems.push(`connection ${i}: ${r.replies.length} replies for ${answerable.length} answerable messages`);
      const ids = new Set(answerable.map((f) => f.readUInt16BE(0)));
      for (const reply of r.replies) {
        if (reply.length < 12 || !(reply[2]! & 0x80) || !ids.has(reply.readUInt16BE(0))) problems.push(`connection ${i}: unexpected reply ${reply.toString('hex')}`);
        else if (Packet.parse(reply).errors.length) problems.push(`connection ${i}: reply dns2 cannot decode ${reply.toString('hex')}`);
      }
    });
    console.log(`      ${frames.length} messages as framed: ${d.queries} queries, ${d.malformed} malformed, ${d.dropped} dropped, ${replies} replies`);
    assert.deepEqual(problems, []);
    assert.ok(results.every((r) => r.closedByServer));
    assert.equal(processed(d), frames.length, 'exactly the messages the prefixes delimit were processed');
    assert.equal(d.dropped, frames.filter(mustDrop).length);
    await assertHealthy();
  });

  it('connections reset mid-message and mid-stream do not hurt the server', async () => {
    const rng = new Rng(SEED + 5);
    const plans: TcpPlan[] = [];
    for (let c = 0; c < 30; c++) {
      const stream = Buffer.concat(Array.from({ length: rng.range(1, 30) }, () => prefixed(rng.chance(0.5) ? validQuery(rng) : mutatedQuery(rng))));
      const cut = stream.subarray(0, rng.int(stream.length + 1));
      plans.push({ chunks: chop(rng, cut), frames: framesOf(cut), abort: true });
    }
    const before = counts(server);
    await Promise.all(plans.map((p) => runTcp(server.port, p, 5000)));
    // Whatever arrived before the reset was processed; nothing more than was sent.
    await waitFor(() => server.tcp[0]!.connections() === 0, 2000);
    const d = delta(before, counts(server));
    assert.ok(processed(d) <= plans.reduce((n, p) => n + p.frames.length, 0));
    assert.equal(server.tcp[0]!.connections(), 0, 'the server let go of every reset connection');
    await assertHealthy();
  });
});
