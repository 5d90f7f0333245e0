// A tiny UDP DNS client for readiness checks and tight polling: one socket, one query in flight, a reply read
// just far enough to get its rcode and the address records of its answer section.
import dgram from 'node:dgram';

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33 } as const;

export function encodeQuery(name: string, type: number, id: number): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l !== '');
  const size = 12 + labels.reduce((n, l) => n + l.length + 1, 0) + 1 + 4;
  const buf = Buffer.alloc(size);
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(0x0100, 2); // RD
  buf.writeUInt16BE(1, 4);
  let p = 12;
  for (const l of labels) {
    buf[p++] = l.length;
    p += buf.write(l, p, 'latin1');
  }
  buf[p++] = 0;
  buf.writeUInt16BE(type, p);
  buf.writeUInt16BE(1, p + 2);
  return buf;
}

export interface Reply {
  id: number;
  rcode: number;
  /** Addresses of the A/AAAA records in the answer section, as text. */
  addresses: string[];
  answers: number;
}

function skipName(buf: Buffer, p: number): number {
  for (;;) {
    const l = buf[p]!;
    if (l === 0) return p + 1;
    if ((l & 0xc0) === 0xc0) return p + 2;
    p += l + 1;
  }
}

export function parseReply(buf: Buffer): Reply {
  const id = buf.readUInt16BE(0);
  const rcode = buf[3]! & 0x0f;
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let p = 12;
  for (let i = 0; i < qd; i++) p = skipName(buf, p) + 4;
  const addresses: string[] = [];
  for (let i = 0; i < an && p < buf.length; i++) {
    p = skipName(buf, p);
    const type = buf.readUInt16BE(p);
    const rdlen = buf.readUInt16BE(p + 8);
    const rd = p + 10;
    if (type === TYPE.A && rdlen === 4) addresses.push(`${buf[rd]}.${buf[rd + 1]}.${buf[rd + 2]}.${buf[rd + 3]}`);
    p = rd + rdlen;
  }
  return { id, rcode, addresses, answers: an };
}

/** One UDP socket with at most one query in flight. */
export class DnsClient {
  private readonly socket = dgram.createSocket('udp4');
  private nextId = Math.floor(Math.random() * 65536);
  private pending: { id: number; resolve: (r: Reply | undefined) => void; timer: NodeJS.Timeout } | undefined;

  constructor(private readonly port: number) {
    this.socket.on('message', (msg) => {
      const p = this.pending;
      if (p === undefined || msg.length < 12 || msg.readUInt16BE(0) !== p.id) return;
      this.pending = undefined;
      clearTimeout(p.timer);
      let reply: Reply | undefined;
      try {
        reply = parseReply(msg);
      } catch {
        reply = undefined;
      }
      p.resolve(reply);
    });
    this.socket.on('error', () => undefined);
    this.socket.unref();
  }

  /** Resolves with the reply, or undefined after timeoutMs. */
  ask(name: string, type: number, timeoutMs = 500): Promise<Reply | undefined> {
    if (this.pending !== undefined) throw new Error('DnsClient: one query at a time');
    const id = (this.nextId = (this.nextId + 1) & 0xffff);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.pending = { id, resolve, timer };
      this.socket.send(encodeQuery(name, type, id), this.port, '127.0.0.1');
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** One-shot query on a fresh socket. */
export async function askOnce(port: number, name: string, type: number, timeoutMs = 1000): Promise<Reply | undefined> {
  const c = new DnsClient(port);
  try {
    return await c.ask(name, type, timeoutMs);
  } finally {
    c.close();
  }
}
