// The UDP and TCP listeners end to end, against the real server in-process: same answers on both, TCP
// pipelining and connection reuse, truncation at 512 / 1232 bytes with the full answer over TCP, what is
// dropped and what gets an error rcode, and the TCP idle timeout.
import { eventually, settlesWithin } from '../helpers/eventually.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import dns2 from 'dns2';
import { type Decoded, RCODE, buildQuery, lines, query, sendRaw } from '../helpers/dns-client.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

const { Packet } = dns2;


const A = 1;
const AAAA = 28;
const SRV = 33;
const CNAME = 5;
const AXFR = 252;

function parse(buf: Buffer): Decoded {
  const p = Packet.parse(buf);
  assert.deepEqual(
    p.errors.map((e) => e.message),
    [],
    'dns2 decodes the reply cleanly',
  );
  return p;
}

const addresses = (p: Decoded): string[] => p.answers.filter((r) => r.type === A || r.type === AAAA).map((r) => r.address!);

function lengthPrefixed(m: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(m.length);
  return Buffer.concat([len, m]);
}

/** A raw TCP DNS client: writes whatever bytes it is given and splits the reply stream itself. */
class TcpClient {
  private buf = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private wake: (() => void) | undefined;
  closedAt: number | undefined;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
        const len = this.buf.readUInt16BE(0);
        this.frames.push(this.buf.subarray(2, 2 + len));
        this.buf = this.buf.subarray(2 + len);
      }
      this.wake?.();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.closedAt = Date.now();
        this.wake?.();
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new TcpClient(socket));
      });
    });
  }

  write(data: Buffer): void {
    this.socket.write(data);
  }

  /** Waits for `n` reply frames (or the timeout / the server closing) and returns them. */
  async receive(n: number, timeoutMs = 3000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n && this.closedAt === undefined && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.frames.splice(0, Math.min(n, this.frames.length));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Waits for `p`, at most `ms` milliseconds (the timer is cleared, so nothing lingers after the tests). */

function tmpManifests(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-dns-transport-'));
  const endpoints = Array.from({ length: 100 }, (_, i) => ({ addresses: [`10.250.${i >> 6}.${(i & 63) + 1}`], conditions: { ready: true } }));
  const objects = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'load' } },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'big', namespace: 'load' },
        spec: { clusterIP: 'None', selector: { app: 'big' }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
      },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'big-1', namespace: 'load', labels: { 'kubernetes.io/service-name': 'big' } },
        addressType: 'IPv4',
        endpoints,
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      },
      // Nothing validates a manifest's externalName: a 70-octet label cannot be put on the wire.
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'badlabel', namespace: 'load' },
        spec: { type: 'ExternalName', externalName: `${'a'.repeat(70)}.example.com` },
      },
    ],
  };
  fs.writeFileSync(path.join(dir, 'objects.json'), JSON.stringify(objects, null, 1));
  return dir;
}

const BIG_ADDRESSES = Array.from({ length: 100 }, (_, i) => `10.250.${i >> 6}.${(i & 63) + 1}`);

describe('transport (UDP and TCP listeners)', function () {
  this.timeout(20000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer(['--manifests', 'examples']);
  });
  after(async () => {
    await server?.stop();
  });

  it('answers the same query identically over UDP and TCP', async () => {
    for (const [name, type] of [
      ['web.demo.svc.cluster.local', A],
      ['dual.demo.svc.cluster.local', AAAA],
      ['_http._tcp.web.demo.svc.cluster.local', SRV],
      ['nope.demo.svc.cluster.local', A],
    ] as const) {
      const packet = buildQuery(name, type, { id: 0x5151 });
      const udp = await sendRaw(server.port, packet);
      const tcp = await sendRaw(server.port, packet, { tcp: true });
      assert.ok(udp && tcp, `${name}: replies on both`);
      assert.deepEqual(tcp, udp, `${name}: same bytes`);
    }
    const p = await query(server.port, 'web.demo.svc.cluster.local', A, { tcp: true });
    assert.deepEqual(lines(p.answers), ['web.demo.svc.cluster.local. 5 IN A 10.96.100.10']);
  });

  it('answers every query pipelined in one TCP write, matched by id', async () => {
    const cases: Array<{ name: string; type: number; check: (p: Decoded) => void }> = [
      { name: 'web.demo.svc.cluster.local', type: A, check: (p) => assert.deepEqual(addresses(p), ['10.96.100.10']) },
      { name: 'api.demo.svc.cluster.local', type: A, check: (p) => assert.deepEqual(addresses(p), ['10.96.100.11']) },
      { name: 'dual.demo.svc.cluster.local', type: AAAA, check: (p) => assert.deepEqual(addresses(p), ['fd00:10:96::20']) },
      { name: 'kubernetes.default.svc.cluster.local', type: A, check: (p) => assert.deepEqual(addresses(p), ['10.96.0.1']) },
      { name: 'kube-dns.kube-system.svc.cluster.local', type: A, check: (p) => assert.deepEqual(addresses(p), ['10.96.0.10']) },
      { name: 'db.demo.svc.cluster.local', type: A, check: (p) => assert.deepEqual(addresses(p).sort(), ['10.244.1.20', '10.244.2.21']) },
      { name: 'www.demo.svc.cluster.local', type: A, check: (p) => assert.equal(p.answers[0]?.type, CNAME) },
      { name: 'missing.demo.svc.cluster.local', type: A, check: (p) => assert.equal(RCODE[p.header.rcode], 'NXDOMAIN') },
      { name: 'example.org', type: A, check: (p) => assert.equal(RCODE[p.header.rcode], 'REFUSED') },
    ];
    const all = [...cases, ...cases, ...cases].map((c, i) => ({ ...c, id: 1000 + i }));
    const client = await TcpClient.connect(server.port);
    try {
      client.write(Buffer.concat(all.map((c) => lengthPrefixed(buildQuery(c.name, c.type, { id: c.id })))));
      const replies = (await client.receive(all.length)).map(parse);
      assert.equal(replies.length, all.length);
      const byId = new Map(replies.map((p) => [p.header.id, p]));
      assert.equal(byId.size, all.length, 'one reply per id');
      for (const c of all) {
        const p = byId.get(c.id);
        assert.ok(p, `reply for id ${c.id}`);
        assert.equal(p.questions[0]?.name, c.name);
        assert.equal(p.questions[0]?.type, c.type);
        c.check(p);
      }
    } finally {
      client.destroy();
    }
  });

  it('keeps a TCP connection usable for sequential queries', async () => {
    const client = await TcpClient.connect(server.port);
    try {
      const names = ['web', 'api', 'empty', 'web', 'dual', 'api'];
      const ips: Record<string, string> = { web: '10.96.100.10', api: '10.96.100.11', empty: '10.96.100.30', dual: '10.96.100.20' };
      for (const [i, n] of names.entries()) {
        client.write(lengthPrefixed(buildQuery(`${n}.demo.svc.cluster.local`, A, { id: i + 1 })));
        const [reply] = await client.receive(1);
        assert.ok(reply, `reply ${i}`);
        const p = parse(reply);
        assert.equal(p.header.id, i + 1);
        assert.deepEqual(addresses(p), [ips[n]]);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(client.closedAt, undefined, 'still open');
    } finally {
      client.destroy();
    }
  });

  it('answers a small headless service over UDP without truncation', async () => {
    const reply = await sendRaw(server.port, buildQuery('db.demo.svc.cluster.local', A));
    assert.ok(reply);
    const p = parse(reply);
    assert.equal(p.header.tc, 0);
    assert.deepEqual(addresses(p).sort(), ['10.244.1.20', '10.244.2.21']);
  });

  it('stays silent for junk shorter than a header, and answers the next query', async () => {
    const before = Object.values(server.pipeline.stats.dropped).reduce((a, b) => a + b, 0);
    for (const junk of [Buffer.alloc(0), Buffer.from([1]), Buffer.from('0123456789a')]) {
      assert.equal(await sendRaw(server.port, junk, { timeoutMs: 300 }), undefined, `${junk.length} bytes: no reply`);
    }
    const after = Object.values(server.pipeline.stats.dropped).reduce((a, b) => a + b, 0);
    assert.equal(after - before, 3, 'all three counted as dropped');
    const p = await query(server.port, 'web.demo.svc.cluster.local', A);
    assert.deepEqual(addresses(p), ['10.96.100.10']);
  });

  it('does not answer a response (QR=1), over UDP or TCP', async () => {
    const packet = buildQuery('web.demo.svc.cluster.local', A);
    packet[2]! |= 0x80;
    assert.equal(await sendRaw(server.port, packet, { timeoutMs: 300 }), undefined);
    // Over TCP the dropped message gets no frame, but the connection goes on.
    const client = await TcpClient.connect(server.port);
    try {
      client.write(Buffer.concat([lengthPrefixed(packet), lengthPrefixed(buildQuery('web.demo.svc.cluster.local', A, { id: 77 }))]));
      const replies = await client.receive(2, 500);
      assert.equal(replies.length, 1, 'only the query is answered');
      assert.equal(parse(replies[0]!).header.id, 77);
    } finally {
      client.destroy();
    }
  });

  it('answers NOTIFY (opcode 4) with NOTIMP', async () => {
    const packet = buildQuery('cluster.local', 6, { id: 4321 });
    packet.writeUInt16BE((4 << 11) | 0x0400, 2); // NOTIFY, AA
    const reply = await sendRaw(server.port, packet);
    assert.ok(reply);
    const p = parse(reply);
    assert.equal(p.header.id, 4321);
    assert.equal(p.header.qr, 1);
    assert.equal(p.header.opcode, 4);
    assert.equal(RCODE[p.header.rcode], 'NOTIMP');
    assert.equal(p.questions[0]?.name, 'cluster.local');
  });

  it('answers two questions with FORMERR', async () => {
    const one = buildQuery('web.demo.svc.cluster.local', A, { id: 99 });
    const two = Buffer.concat([one, one.subarray(12)]);
    two.writeUInt16BE(2, 4);
    for (const tcp of [false, true]) {
      const reply = await sendRaw(server.port, two, { tcp });
      assert.ok(reply, `reply over ${tcp ? 'TCP' : 'UDP'}`);
      const p = parse(reply);
      assert.equal(p.header.id, 99);
      assert.equal(RCODE[p.header.rcode], 'FORMERR');
      assert.equal(p.answers.length, 0);
    }
  });

  it('answers AXFR over TCP with REFUSED', async () => {
    const p = await query(server.port, 'cluster.local', AXFR, { tcp: true });
    assert.equal(RCODE[p.header.rcode], 'REFUSED');
    assert.equal(p.answers.length, 0);
  });

  describe('a reply too big for UDP', () => {
    let big: TestServer;
    let dir: string;
    const NAME = 'big.load.svc.cluster.local';

    before(async () => {
      dir = tmpManifests();
      big = await startTestServer(['--manifests', dir]);
    });
    after(async () => {
      await big?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('is truncated to 512 bytes over UDP without EDNS, with TC=1 and whole records', async () => {
      const reply = await sendRaw(big.port, buildQuery(NAME, A));
      assert.ok(reply);
      assert.ok(reply.length <= 512, `${reply.length} bytes`);
      const p = parse(reply);
      assert.equal(p.header.tc, 1);
      assert.ok(p.answers.length > 0 && p.answers.length < 100, `${p.answers.length} answers`);
      assert.equal(p.answers.length, p.header.ancount);
      for (const a of addresses(p)) assert.ok(BIG_ADDRESSES.includes(a), a);
      assert.equal(new Set(addresses(p)).size, p.answers.length, 'no duplicates');
      assert.equal(p.additionals.length, 0, 'no OPT without EDNS');
    });

    it('is truncated to 1232 bytes over UDP with EDNS 4096, keeping the OPT record (with the client\'s size)', async () => {
      const reply = await sendRaw(big.port, buildQuery(NAME, A, { edns: 4096 }));
      assert.ok(reply);
      assert.ok(reply.length <= 1232 && reply.length > 512, `${reply.length} bytes`);
      const p = parse(reply);
      assert.equal(p.header.tc, 1);
      assert.ok(p.answers.length > 29 && p.answers.length < 100, `${p.answers.length} answers`);
      const o = p.additionals.find((r) => r.type === 41);
      assert.ok(o, 'OPT kept');
      assert.equal(o.class, 4096, "the OPT echoes the client's size, as CoreDNS's does (the reply itself stays within 1232)");
    });

    it('is whole over TCP: all 100 records, TC=0', async () => {
      for (const edns of [undefined, 4096]) {
        const p = await query(big.port, NAME, A, { tcp: true, edns });
        assert.equal(p.header.tc, 0);
        assert.deepEqual(addresses(p).sort(), [...BIG_ADDRESSES].sort());
      }
    });

    it('answers SERVFAIL for a record that cannot be encoded, and keeps serving', async () => {
      for (const tcp of [false, true]) {
        const reply = await sendRaw(big.port, buildQuery('badlabel.load.svc.cluster.local', CNAME), { tcp, timeoutMs: 1000 });
        assert.ok(reply, `a reply over ${tcp ? 'TCP' : 'UDP'}`);
        assert.equal(RCODE[parse(reply).header.rcode], 'SERVFAIL');
      }
      assert.ok(big.pipeline.stats.handlerErrors >= 2);
      const p = await query(big.port, NAME, A, { tcp: true });
      assert.equal(p.answers.length, 100);
    });
  });

  describe('TCP idle timeout', () => {
    let idle: TestServer;
    before(async () => {
      idle = await startTestServer(['--manifests', 'examples', '--tcp-idle-timeout', '1']);
    });
    after(async () => {
      await idle?.stop();
    });

    it('closes a silent connection after the idle timeout', async () => {
      const started = Date.now();
      const client = await TcpClient.connect(idle.port);
      try {
        await settlesWithin(5000, 'the server closes the connection', client.closed);
        assert.ok(client.closedAt !== undefined, 'the server closed the connection');
        const waited = client.closedAt - started;
        assert.ok(waited >= 900 && waited < 4000, `closed after ${waited} ms`);
      } finally {
        client.destroy();
      }
      // The server forgot it.
      await eventually(1000, 'the server forgets the connection', () => idle.tcp[0]!.connections() === 0);
    });

    it('counts idleness from the last activity, not from the connect', async () => {
      const client = await TcpClient.connect(idle.port);
      const started = Date.now();
      try {
        // Keep the connection busy for ~1.6 s, longer than the timeout, with a query every 400 ms.
        for (let i = 0; i < 4; i++) {
          await new Promise((r) => setTimeout(r, 400));
          client.write(lengthPrefixed(buildQuery('web.demo.svc.cluster.local', A, { id: i })));
          const [reply] = await client.receive(1);
          assert.ok(reply, `reply ${i} after ${Date.now() - started} ms`);
        }
        assert.equal(client.closedAt, undefined);
        await settlesWithin(5000, 'the server closes the connection', client.closed);
        assert.ok(client.closedAt !== undefined && client.closedAt - started >= 2000, 'closed only after a quiet second');
      } finally {
        client.destroy();
      }
    });
  });
});
