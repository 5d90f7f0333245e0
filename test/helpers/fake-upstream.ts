// A scriptable upstream for the faults real servers will not produce on demand: silence, slowness, replies with
// the wrong ID, garbage. Replies are built with dns2 (an encoder independent of ours). Loopback only.
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import dns2 from 'dns2';

const { Packet } = dns2;
export type Request = InstanceType<typeof Packet>;

export interface FakeUpstream {
  port: number;
  address: string;
  queries: Request[];
  /** The query bytes as received, for header bits dns2 does not expose. */
  raw: Buffer[];
  stop(): Promise<void>;
}

/** `respond` returns the reply packets to send (several, to test mismatches), or none for silence. */
export async function startFakeUpstream(respond: (q: Request) => Promise<Buffer[]> | Buffer[]): Promise<FakeUpstream> {
  const socket = dgram.createSocket('udp4');
  const queries: Request[] = [];
  const raw: Buffer[] = [];
  socket.on('message', (msg, rinfo) => {
    let q: Request;
    try {
      q = Packet.parse(msg);
    } catch {
      return;
    }
    queries.push(q);
    raw.push(msg);
    void Promise.resolve(respond(q)).then((replies) => {
      for (const r of replies) socket.send(r, rinfo.port, rinfo.address);
    });
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const port = (socket.address() as AddressInfo).port;
  return { port, address: `127.0.0.1:${port}`, queries, raw, stop: () => new Promise((r) => socket.close(() => r())) };
}

/** An answer with one A record for the question, TTL `ttl`, as a recursive resolver would send it. */
export function aReply(q: Request, address: string, ttl = 60, id = q.header.id): Buffer {
  const r = Packet.createResponseFromRequest(q);
  r.header.id = id;
  r.header.ra = 1;
  r.answers.push({ name: q.questions[0]!.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl, address } as never);
  return r.toBuffer();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
