// Seeded packet generators shared by the fuzz test (test/unit/fuzz.test.ts), the hostile-traffic suite
// (test/integration/hostile.test.ts) and `npm run soak`: valid queries over the demo cluster's names, queries
// built from zone-ish vocabulary, mutations (bit flips, truncations, bogus counts, pointer loops, over-long
// labels, EDNS games) and random bytes.
import { buildQuery } from './dns-client.js';

/** xorshift32 (Marsaglia): tiny, fast, and reproducible from one 32-bit seed. */
export class Rng {
  private x: number;
  constructor(seed: number) {
    // Scramble the seed so nearby seeds (seed, seed+1, ...) do not start out correlated; never zero.
    let s = (seed ^ 0x9e3779b9) >>> 0;
    s = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
    s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
    this.x = (s ^ (s >>> 16)) >>> 0 || 0x6d2b79f5;
  }
  u32(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x100000000) * n);
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Packet generators

export const BASE_QUESTIONS: Array<[string, number]> = [
  ['web.demo.svc.cluster.local', 1],
  ['WEB.Demo.svc.CLUSTER.local', 28],
  ['_http._tcp.web.demo.svc.cluster.local', 33],
  ['_postgres._tcp.db.demo.svc.cluster.local', 33],
  ['db-0.db.demo.svc.cluster.local', 1],
  ['db.demo.svc.cluster.local', 1],
  ['cache.demo.svc.cluster.local', 28],
  ['search.demo.svc.cluster.local', 5],
  ['www.demo.svc.cluster.local', 1],
  ['dual.demo.svc.cluster.local', 255],
  ['10-244-1-10.demo.pod.cluster.local', 1],
  ['10.100.96.10.in-addr.arpa', 12],
  ['cluster.local', 6],
  ['cluster.local', 2],
  ['dns-version.cluster.local', 16],
  ['missing.demo.svc.cluster.local', 1],
  ['demo.svc.cluster.local', 15],
  ['example.com', 1],
  ['', 2],
];

export function validQuery(rng: Rng): Buffer {
  const [name, type] = rng.pick(BASE_QUESTIONS);
  const edns = rng.chance(0.5) ? rng.pick([512, 1232, 4096, 65535, 100]) : undefined;
  return buildQuery(name, type, { id: rng.int(0x10000), edns, dnssecOk: rng.chance(0.3), rd: rng.chance(0.8) });
}

export const VOCABULARY = ['demo', 'svc', 'pod', 'web', 'db', 'db-0', 'cache', 'api', 'dual', 'search', 'www', 'kube-dns', 'kube-system',
  'default', 'kubernetes', '_http', '_tcp', '_udp', '_', '*', 'any', 'dns', 'ns', 'dns-version', '10-244-1-10', 'fd00--10', '10',
  '96', '100', '244', '0', '255', '1', 'a', 'WEB', 'Demo', 'SVC', 'x'.repeat(63), 'in-addr', 'ip6', 'arpa', 'cluster', 'local', 'f'];
export const ZONES = ['cluster.local', 'cluster.local', 'cluster.local', 'CLUSTER.local', 'in-addr.arpa', 'ip6.arpa', 'local', 'example.com'];
export const TYPES = [1, 2, 5, 6, 12, 15, 16, 28, 33, 35, 99, 251, 252, 255, 65535];

/** A well-formed query for a name made of zone-ish labels (and odd bytes now and then): it reaches the handler. */
export function vocabularyQuery(rng: Rng): Buffer {
  const labels = Array.from({ length: rng.int(7) }, () => {
    if (!rng.chance(0.1)) return rng.pick(VOCABULARY);
    return Array.from(rng.bytes(rng.range(1, 12)), (c) => String.fromCharCode(c)).join('');
  });
  const name = [...labels, rng.pick(ZONES)].join('.');
  if (name.length > 250) return validQuery(rng);
  const p = buildQuery(name, rng.chance(0.9) ? rng.pick(TYPES) : rng.int(0x10000), { id: rng.int(0x10000), edns: rng.chance(0.5) ? rng.pick([512, 1232, 4096]) : undefined });
  // buildQuery splits on dots; the odd labels above may hold dots, which then just make more labels.
  return p;
}

/** Offsets of the label-length bytes of the (uncompressed) question name. */
export function labelOffsets(p: Buffer): number[] {
  const out: number[] = [];
  let pos = 12;
  while (pos < p.length && p[pos] !== 0 && out.length < 128) {
    out.push(pos);
    pos += p[pos]! + 1;
  }
  if (pos < p.length) out.push(pos); // the root byte
  return out;
}

export const MUTATIONS: Array<(rng: Rng, p: Buffer) => Buffer> = [
  // bit flips
  (rng, p) => {
    for (let k = rng.range(1, 8); k > 0 && p.length > 0; k--) p[rng.int(p.length)]! ^= 1 << rng.int(8);
    return p;
  },
  // truncation
  (rng, p) => p.subarray(0, rng.int(p.length + 1)),
  // a count field (QD/AN/NS/AR) set to something else
  (rng, p) => {
    if (p.length >= 12) p.writeUInt16BE(rng.pick([0, 1, 2, 3, 255, 0xffff, rng.int(0x10000)]), 4 + 2 * rng.int(4));
    return p;
  },
  // a compression pointer planted at a label (or anywhere), aimed near the start of the message
  (rng, p) => {
    const offsets = labelOffsets(p);
    const at = offsets.length && rng.chance(0.7) ? rng.pick(offsets) : rng.int(Math.max(1, p.length));
    if (at + 1 < p.length) {
      const target = rng.chance(0.7) ? rng.int(Math.min(p.length + 8, 0x3fff)) : rng.int(0x4000);
      p[at] = 0xc0 | (target >> 8);
      p[at + 1] = target & 0xff;
    }
    return p;
  },
  // a label length that is too long, or longer than what is left
  (rng, p) => {
    const offsets = labelOffsets(p);
    if (offsets.length) p[rng.pick(offsets)] = rng.pick([63, 64, 65, 127, 128, 191, 255, rng.range(1, 255)]);
    return p;
  },
  // a random 16-bit field anywhere (type, class, RDLENGTH, OPT size...)
  (rng, p) => {
    if (p.length >= 2) p.writeUInt16BE(rng.int(0x10000), rng.int(p.length - 1));
    return p;
  },
  // random bytes appended, sometimes announced as extra records
  (rng, p) => {
    const out = Buffer.concat([p, rng.bytes(rng.range(1, 60))]);
    if (out.length >= 12 && rng.chance(0.5)) out.writeUInt16BE((out.readUInt16BE(10) + rng.range(1, 3)) & 0xffff, 10);
    return out;
  },
  // random bytes spliced in the middle
  (rng, p) => {
    const at = rng.int(p.length + 1);
    return Buffer.concat([p.subarray(0, at), rng.bytes(rng.range(1, 20)), p.subarray(at)]);
  },
  // another opcode
  (rng, p) => {
    if (p.length >= 4) p[2] = (p[2]! & 0x87) | (rng.int(16) << 3);
    return p;
  },
  // EDNS version / payload size / flags mangled, or a second OPT record
  (rng, p) => {
    if (p.length < 12) return p;
    const optAt = p.length - 11;
    if (p.readUInt16BE(10) > 0 && optAt > 12 && p[optAt] === 0 && p.readUInt16BE(optAt + 1) === 41) {
      if (rng.chance(0.5)) p[optAt + 6] = rng.chance(0.5) ? 1 : rng.int(256); // version
      else p.writeUInt16BE(rng.int(0x10000), optAt + 3); // payload size
      if (rng.chance(0.3)) p.writeUInt16BE(rng.range(1, 40), optAt + 9); // RDLENGTH past the end
      return p;
    }
    const opt = Buffer.from([0, 0, 41, 0x10, 0, 0, rng.int(3), 0, 0, 0, 0]);
    const out = Buffer.concat([p, opt, rng.chance(0.5) ? opt : Buffer.alloc(0)]);
    out.writeUInt16BE((out.readUInt16BE(10) + (out.length - p.length) / 11) & 0xffff, 10);
    return out;
  },
  // QR set: a response, to be ignored
  (_rng, p) => {
    if (p.length >= 3) p[2]! |= 0x80;
    return p;
  },
];

export function mutatedQuery(rng: Rng, base?: Buffer): Buffer {
  let p: Buffer = Buffer.from(base ?? validQuery(rng));
  for (let n = rng.pick([1, 1, 1, 2, 2, 3]); n > 0; n--) p = rng.pick(MUTATIONS)(rng, p);
  return p;
}

/** Uniformly random bytes of random length, or (a third of the time) random bytes behind a plausible header. */
export function randomPacket(rng: Rng): Buffer {
  const p = rng.bytes(rng.int(601));
  if (p.length >= 12 && rng.chance(1 / 3)) {
    p[2] = p[2]! & (rng.chance(0.8) ? 0x01 : 0x7f); // QR=0, mostly opcode 0
    p.writeUInt16BE(1, 4);
    for (const at of [6, 8, 10]) p.writeUInt16BE(rng.int(3), at);
  }
  return p;
}
