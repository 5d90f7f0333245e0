// A small DNS client for tests: builds queries byte by byte and decodes replies with dns2, an independent
// decoder, so a bug in our encoder cannot hide behind the same bug in our decoder.
import dgram from 'node:dgram';
import net from 'node:net';
import dns2 from 'dns2';

const { Packet } = dns2;
export type Decoded = InstanceType<typeof Packet>;

export interface QueryOptions {
  tcp?: boolean;
  /** Add an OPT record with this UDP payload size. */
  edns?: number;
  dnssecOk?: boolean;
  id?: number;
  rd?: boolean;
  timeoutMs?: number;
}

export function buildQuery(name: string, type: number, opts: QueryOptions = {}): Buffer {
  const labels = name === '' || name === '.' ? [] : name.replace(/\.$/, '').split('.');
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(opts.id ?? Math.floor(Math.random() * 65536), 0);
  header.writeUInt16BE(opts.rd === false ? 0 : 0x0100, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(opts.edns ? 1 : 0, 10);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  const parts = [header, qname, tail];
  if (opts.edns) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(opts.edns, 3);
    opt.writeUInt32BE(opts.dnssecOk ? 0x8000 : 0, 5);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

export function sendRaw(port: number, packet: Buffer, opts: { tcp?: boolean; timeoutMs?: number } = {}): Promise<Buffer | undefined> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  if (opts.tcp) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(undefined);
      }, timeoutMs);
      socket.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(packet.length);
        socket.write(Buffer.concat([len, packet]));
      });
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(timer);
          socket.end();
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        }
      });
      socket.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, timeoutMs);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(packet, port, '127.0.0.1');
  });
}

export async function query(port: number, name: string, type: number, opts: QueryOptions = {}): Promise<Decoded> {
  const reply = await sendRaw(port, buildQuery(name, type, opts), opts);
  if (!reply) throw new Error(`no reply for ${name} ${type}`);
  return Packet.parse(reply);
}

const TYPE_NAME: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 41: 'OPT' };

/** A decoded record as a zone-file line ("name. ttl IN TYPE rdata"), the form the expectations are written in. */
export function line(r: Decoded['answers'][number]): string {
  const t = TYPE_NAME[r.type] ?? `TYPE${r.type}`;
  const fq = (n: string | undefined): string => `${n ?? ''}.`.replace(/^\.$/, '.');
  let rdata: string;
  switch (r.type) {
    case 1:
    case 28:
      rdata = r.address!;
      break;
    case 2:
    case 5:
    case 12:
      rdata = fq(r.domain ?? r.ns);
      break;
    case 33:
      rdata = `${r.priority} ${r.weight} ${r.port} ${fq(r.target)}`;
      break;
    case 6:
      rdata = `${fq(r.primary)} ${fq(r.admin)} ${r.serial} ${r.refresh} ${r.retry} ${r.expiration} ${r.minimum}`;
      break;
    case 16:
      rdata = ([] as string[]).concat(r.data as string | string[]).map((s) => JSON.stringify(s)).join(' ');
      break;
    default:
      rdata = '?';
  }
  return `${fq(r.name)} ${r.ttl} IN ${t} ${rdata}`;
}

export const lines = (rrs: Decoded['answers']): string[] => rrs.filter((r) => r.type !== 41).map(line);

export const RCODE: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };
