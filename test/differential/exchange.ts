// Asking both servers: the same bytes (same ID) to CoreDNS and to cluster-dns at the same moment, over the
// question's transport, a bounded number at a time. No reply in time is recorded as such — never skipped.
import { sendRaw } from '../helpers/dns-client.js';
import type { Exchange } from './compare.js';
import { decodeMessage, encodeQuestion, type Message, type Question } from './wire.js';

const TIMEOUT_MS = 3000;

async function ask(port: number, packet: Buffer, tcp: boolean): Promise<{ reply: Message | string | undefined; bytes: number }> {
  const raw = await sendRaw(port, packet, { tcp, timeoutMs: TIMEOUT_MS }).catch(() => undefined);
  if (raw === undefined) return { reply: undefined, bytes: 0 };
  try {
    return { reply: decodeMessage(raw), bytes: raw.length };
  } catch (err) {
    return { reply: `${(err as Error).message}: ${raw.toString('hex')}`, bytes: raw.length };
  }
}

export interface Target {
  label: string;
  refPort: number;
  oursPort: number;
  /** The Corefile has `cache`. */
  cache: boolean;
}

/** Every question to every target, `concurrency` exchanges at a time; `repeatOf`: the round's start, for second asks. */
export async function exchangeAll(targets: Target[], questions: Question[], repeatOf?: number, concurrency = 24): Promise<Exchange[]> {
  const jobs = targets.flatMap((t) => questions.map((q) => ({ t, q })));
  const out: Exchange[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      const { t, q } = jobs[i]!;
      const packet = encodeQuestion(q);
      const [ref, ours] = await Promise.all([ask(t.refPort, packet, q.tcp), ask(t.oursPort, packet, q.tcp)]);
      out[i] = { label: t.label, question: q, ref: ref.reply, ours: ours.reply, refBytes: ref.bytes, oursBytes: ours.bytes, cache: t.cache, ...(repeatOf !== undefined ? { repeat: { afterMs: Date.now() - repeatOf } } : {}) };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}
