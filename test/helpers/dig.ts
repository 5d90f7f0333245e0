// Real clients for integration tests: `dig` (parsed into zone-file lines per section) and `nslookup`.
// node-dig-dns is used where its summary is enough (answer values); the full parser here keeps every
// field (SRV priority/weight/port, SOA) that the CoreDNS comparison needs.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import digDns from 'node-dig-dns';

const run = promisify(execFile);

export interface DigResult {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
}

/** `dig` with a fixed, comparable output: no cookie, no OPT noise; `extra` adds flags such as +tcp or +bufsize. */
export async function dig(port: number, name: string, type: string, extra: string[] = []): Promise<DigResult> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+nocookie', '+time=2', '+tries=1', '+noall', '+comments', '+answer', '+authority', '+additional', ...extra, name, type]);
  const status = /status: (\w+)/.exec(stdout)?.[1];
  if (!status) throw new Error(`dig ${name} ${type}: no reply\n${stdout}`);
  const flags = (/;; flags: ([^;]*);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/);
  const out: DigResult = { status, flags, answer: [], authority: [], additional: [] };
  let section: keyof Pick<DigResult, 'answer' | 'authority' | 'additional'> | undefined;
  for (const raw of stdout.split('\n')) {
    const l = raw.trim();
    if (l.startsWith(';; ANSWER SECTION')) section = 'answer';
    else if (l.startsWith(';; AUTHORITY SECTION')) section = 'authority';
    else if (l.startsWith(';; ADDITIONAL SECTION')) section = 'additional';
    else if (l.startsWith(';') || l === '') continue;
    else if (section) out[section].push(l.split(/\s+/).join(' '));
  }
  return out;
}

/** Addresses (or targets) in the answer, through node-dig-dns; asserts that dig really got a reply. */
export async function digValues(port: number, name: string, type = 'A', extra: string[] = []): Promise<string[]> {
  const r = (await digDns(['@127.0.0.1', '-p', String(port), '+nocookie', '+time=2', '+tries=1', ...extra, name, type])) as {
    header?: string[][];
    answer?: Array<{ type: string; value: string }>;
  };
  const header = (r.header ?? []).flat().join('\n');
  if (!/status: \w+/.test(header)) throw new Error(`dig ${name} ${type}: no reply`);
  return (r.answer ?? []).filter((a) => a.type === type).map((a) => a.value).sort();
}

export async function nslookup(port: number, name: string, type = 'A'): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run('nslookup', [`-port=${port}`, `-type=${type}`, name, '127.0.0.1']);
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '' };
  }
}

/**
 * Many queries through one `dig -f` process (one dig per query would dominate the run time). Results are keyed
 * `name TYPE` as dig echoes the question (lower-case TYPE names, names with their trailing dot removed).
 */
export async function digBatch(port: number, queries: Array<[string, string]>, extra: string[] = []): Promise<Map<string, DigResult>> {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'cdns-dig-'));
  const file = join(dir, 'queries');
  writeFileSync(file, queries.map(([n, t]) => `${n} ${t}`).join('\n'));
  try {
    const { stdout } = await run(
      'dig',
      ['@127.0.0.1', '-p', String(port), '+nocookie', '+time=2', '+tries=1', '+noall', '+comments', '+question', '+answer', '+authority', '+additional', ...extra, '-f', file],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    return parseBatch(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseBatch(stdout: string): Map<string, DigResult> {
  const out = new Map<string, DigResult>();
  for (const block of stdout.split(';; Got answer:').slice(1)) {
    const status = /status: (\w+)/.exec(block)?.[1] ?? 'NONE';
    const flags = (/;; flags: ([^;]*);/.exec(block)?.[1] ?? '').trim().split(/\s+/).sort();
    const r: DigResult = { status, flags, answer: [], authority: [], additional: [] };
    let section: 'question' | 'answer' | 'authority' | 'additional' | undefined;
    let key = '';
    for (const raw of block.split('\n')) {
      const l = raw.trim();
      if (l.startsWith(';; QUESTION SECTION')) section = 'question';
      else if (l.startsWith(';; ANSWER SECTION')) section = 'answer';
      else if (l.startsWith(';; AUTHORITY SECTION')) section = 'authority';
      else if (l.startsWith(';; ADDITIONAL SECTION')) section = 'additional';
      else if (section === 'question' && l.startsWith(';') && !l.startsWith(';;')) {
        const [name, , type] = l.substring(1).split(/\s+/);
        key = `${name!.replace(/\.$/, '')} ${type}`;
      } else if (l.startsWith(';') || l === '') continue;
      else if (section && section !== 'question') r[section].push(l.split(/\s+/).join(' '));
    }
    if (key) out.set(key, r);
  }
  return out;
}
