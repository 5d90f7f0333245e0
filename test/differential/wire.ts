// The differential suite's own DNS wire code: it builds a query with every header and EDNS knob the suite varies
// (RD, CD, EDNS size, DO) and decodes any reply into comparable text — records as zone-file lines, the OPT record
// field by field. Written apart from src/dns on purpose: a bug in our codec must not hide behind the same bug here.

export interface Question {
  /** As sent: the random case survives, and the reply must echo it. */
  name: string;
  type: number;
  id: number;
  rd: boolean;
  cd: boolean;
  /** No EDNS when absent. */
  edns?: { size: number; do: boolean };
  tcp: boolean;
}

export interface Opt {
  size: number;
  do: boolean;
  version: number;
  extendedRcode: number;
  /** `code:hex` per option, EDE as `ede:<info-code>:<text>`. */
  options: string[];
}

export interface Message {
  id: number;
  rcode: number;
  /** Header flags set, in a fixed order (qr aa tc rd ra z ad cd), plus `opcode=N` when not QUERY. */
  flags: string[];
  question: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  opt?: Opt;
}

export const TYPE_NAMES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 41: 'OPT', 65: 'HTTPS', 255: 'ANY', 257: 'CAA',
};
export const typeName = (t: number): string => TYPE_NAMES[t] ?? `TYPE${t}`;

export function encodeQuestion(q: Question): Buffer {
  const labels = q.name.replace(/\.$/, '').split('.').filter((l) => l !== '');
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  header.writeUInt16BE((q.rd ? 0x0100 : 0) | (q.cd ? 0x0010 : 0), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(q.edns ? 1 : 0, 10);
  const parts = [header, ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])];
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(q.type, 0);
  tail.writeUInt16BE(1, 2);
  parts.push(tail);
  if (q.edns) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(q.edns.size, 3);
    opt.writeUInt32BE(q.edns.do ? 0x8000 : 0, 5);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

class Reader {
  constructor(readonly buf: Buffer, public pos = 0) {}
  u8(): number {
    return this.need(1).readUInt8(this.pos++);
  }
  u16(): number {
    const v = this.need(2).readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.need(4).readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  take(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  need(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new Error(`message cut short at byte ${this.pos}`);
    return this.buf;
  }
  /** A name with compression pointers followed (at most 64 jumps), as `a.b.c.` (the root as `.`). */
  name(): string {
    const labels: string[] = [];
    let pos = this.pos;
    let jumped = false;
    for (let hops = 0; hops < 64; hops++) {
      const len = this.buf.readUInt8(pos);
      if ((len & 0xc0) === 0xc0) {
        const target = this.buf.readUInt16BE(pos) & 0x3fff;
        if (!jumped) this.pos = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if (len === 0) {
        if (!jumped) this.pos = pos + 1;
        return labels.length === 0 ? '.' : `${labels.join('.')}.`;
      }
      labels.push(this.buf.subarray(pos + 1, pos + 1 + len).toString('latin1'));
      pos += 1 + len;
    }
    throw new Error('compression loop');
  }
}

function ipv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

function rdataText(r: Reader, type: number, len: number): string {
  const end = r.pos + len;
  const rest = (): string => r.take(end - r.pos).toString('hex');
  let text: string;
  switch (type) {
    case 1:
      text = [...r.take(4)].join('.');
      break;
    case 28:
      text = ipv6(r.take(16));
      break;
    case 2:
    case 5:
    case 12:
      text = r.name();
      break;
    case 15:
      text = `${r.u16()} ${r.name()}`;
      break;
    case 33:
      text = `${r.u16()} ${r.u16()} ${r.u16()} ${r.name()}`;
      break;
    case 6:
      text = `${r.name()} ${r.name()} ${[r.u32(), r.u32(), r.u32(), r.u32(), r.u32()].join(' ')}`;
      break;
    case 16: {
      const strings: string[] = [];
      while (r.pos < end) strings.push(JSON.stringify(r.take(r.u8()).toString('latin1')));
      text = strings.join(' ');
      break;
    }
    default:
      text = `\\# ${len} ${rest()}`;
  }
  if (r.pos !== end) throw new Error(`${typeName(type)} RDATA: ${len} bytes declared, ${r.pos - (end - len)} read`);
  return text;
}

function parseOpt(r: Reader, size: number, ttl: number, len: number): Opt {
  const end = r.pos + len;
  const options: string[] = [];
  while (r.pos < end) {
    const code = r.u16();
    const data = r.take(r.u16());
    options.push(code === 15 && data.length >= 2 ? `ede:${data.readUInt16BE(0)}:${data.subarray(2).toString('utf8')}` : `${code}:${data.toString('hex')}`);
  }
  return { size, do: (ttl & 0x8000) !== 0, version: (ttl >>> 16) & 0xff, extendedRcode: ttl >>> 24, options };
}

const FLAG_BITS: Array<[string, number]> = [['qr', 0x8000], ['aa', 0x0400], ['tc', 0x0200], ['rd', 0x0100], ['ra', 0x0080], ['z', 0x0040], ['ad', 0x0020], ['cd', 0x0010]];

export function decodeMessage(buf: Buffer): Message {
  const r = new Reader(buf);
  const id = r.u16();
  const bits = r.u16();
  const counts = [r.u16(), r.u16(), r.u16(), r.u16()];
  const flags = FLAG_BITS.filter(([, b]) => (bits & b) !== 0).map(([f]) => f);
  const opcode = (bits >> 11) & 0xf;
  if (opcode !== 0) flags.push(`opcode=${opcode}`);
  const m: Message = { id, rcode: bits & 0xf, flags, question: [], answer: [], authority: [], additional: [] };
  for (let i = 0; i < counts[0]!; i++) {
    const qname = r.name();
    const qtype = r.u16();
    const qclass = r.u16();
    m.question.push(`${qname} ${qclass === 1 ? 'IN' : `CLASS${qclass}`} ${typeName(qtype)}`);
  }
  const sections = [m.answer, m.authority, m.additional];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const owner = r.name();
      const type = r.u16();
      const rclass = r.u16();
      const ttl = r.u32();
      const len = r.u16();
      if (type === 41) {
        if (m.opt) throw new Error('two OPT records');
        m.opt = parseOpt(r, rclass, ttl, len);
        m.rcode |= m.opt.extendedRcode << 4;
        continue;
      }
      sections[s]!.push(`${owner} ${ttl} ${rclass === 1 ? 'IN' : `CLASS${rclass}`} ${typeName(type)} ${rdataText(r, type, len)}`);
    }
  }
  if (r.pos !== buf.length) throw new Error(`${buf.length - r.pos} bytes after the last record`);
  return m;
}

export const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS' };
export const rcodeName = (n: number): string => RCODE_NAMES[n] ?? `RCODE${n}`;

/** The query in one line: name, type, flags, EDNS, transport. */
export function describeQuestion(q: Question): string {
  const edns = q.edns ? `edns=${q.edns.size}${q.edns.do ? '+do' : ''}` : 'no-edns';
  return `${q.name} ${typeName(q.type)} ${q.rd ? 'rd' : 'nord'}${q.cd ? ' cd' : ''} ${edns} ${q.tcp ? 'tcp' : 'udp'}`;
}
