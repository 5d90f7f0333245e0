// Comparing one reply pair: rcode, header flags, ID, question, the three sections as multisets, and the OPT
// record (size, DO, version, options such as EDE). TTLs are exact, except on records of names outside the
// cluster zones, which both servers may have cached a second apart: within 1 s. SOA serials are masked (each
// server stamps its own last change). A missing reply is a difference.
import { describeQuestion, type Message, type Question, rcodeName } from './wire.js';

export interface Exchange {
  /** Which Corefile, which round. */
  label: string;
  question: Question;
  /** CoreDNS's reply, undefined when it sent none in time; a string when it could not be decoded. */
  ref: Message | string | undefined;
  ours: Message | string | undefined;
  /** Size of each reply on the wire. */
  refBytes: number;
  oursBytes: number;
  /** A second ask of a key (queries.ts `repeats`), `afterMs` after the round's first asks began. */
  repeat?: { afterMs: number };
  /** The Corefile has `cache` (which also holds cluster answers). */
  cache: boolean;
}

export interface Difference {
  exchange: Exchange;
  /** What differs: `rcode`, `flags`, `answer`, `opt.size`, `no reply`, … — what the allow-list's rules read. */
  fields: string[];
}

const CLUSTER = /(^|\.)cluster\.local\.$/i;

interface Record {
  key: string;
  ttl: number;
  owner: string;
}

function records(lines: string[]): Record[] {
  return lines
    .map((l) => {
      const [owner, ttl, ...rest] = l.split(' ');
      const masked = rest[1] === 'SOA' ? [...rest.slice(0, 4), 'SERIAL', ...rest.slice(5)] : rest;
      return { key: `${owner} ${masked.join(' ')}`, ttl: Number(ttl), owner: owner! };
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.ttl - b.ttl));
}

function sameSection(a: string[], b: string[]): { records: boolean; ttls: boolean } {
  const ra = records(a);
  const rb = records(b);
  if (ra.length !== rb.length || ra.some((r, i) => r.key !== rb[i]!.key)) return { records: false, ttls: true };
  const ttls = ra.every((r, i) => (CLUSTER.test(r.owner) ? r.ttl === rb[i]!.ttl : Math.abs(r.ttl - rb[i]!.ttl) <= 1));
  return { records: true, ttls };
}

export function compare(e: Exchange): Difference | undefined {
  const { ref, ours } = e;
  if (ref === undefined || ours === undefined) return { exchange: e, fields: ['no reply'] };
  if (typeof ref === 'string' || typeof ours === 'string') return { exchange: e, fields: ['undecodable'] };
  const fields: string[] = [];
  if (ref.rcode !== ours.rcode) fields.push('rcode');
  if (ref.id !== ours.id) fields.push('id');
  if (ref.flags.join(' ') !== ours.flags.join(' ')) fields.push('flags');
  if (ref.question.join('|') !== ours.question.join('|')) fields.push('question');
  for (const s of ['answer', 'authority', 'additional'] as const) {
    const same = sameSection(ref[s], ours[s]);
    if (!same.records) fields.push(s);
    else if (!same.ttls) fields.push(`${s}.ttl`);
  }
  if (!ref.opt !== !ours.opt) fields.push('opt');
  else if (ref.opt && ours.opt) {
    for (const k of ['size', 'do', 'version', 'extendedRcode'] as const) if (ref.opt[k] !== ours.opt[k]) fields.push(`opt.${k}`);
    if (ref.opt.options.join(',') !== ours.opt.options.join(',')) fields.push('opt.options');
  }
  return fields.length > 0 ? { exchange: e, fields } : undefined;
}

function show(m: Message | string | undefined): string {
  if (m === undefined) return '(no reply)';
  if (typeof m === 'string') return `(undecodable: ${m})`;
  const opt = m.opt ? ` opt: size=${m.opt.size}${m.opt.do ? ' do' : ''}${m.opt.version ? ` v${m.opt.version}` : ''}${m.opt.options.length ? ` [${m.opt.options.join(', ')}]` : ''}` : ' no opt';
  const sec = (name: string, lines: string[]): string => (lines.length ? `\n      ${name}: ${lines.join('\n        ')}` : '');
  return `${rcodeName(m.rcode)} id=${m.id} flags=${m.flags.join(' ')}${opt}${sec('question', m.question)}${sec('answer', m.answer)}${sec('authority', m.authority)}${sec('additional', m.additional)}`;
}

/** The difference as a reader needs it: which query, what differs, both replies. */
export function describe(d: Difference): string {
  const e = d.exchange;
  return `[${e.label}] ${describeQuestion(e.question)}: ${d.fields.join(', ')}\n    CoreDNS:     ${show(e.ref)}\n    cluster-dns: ${show(e.ours)}`;
}
