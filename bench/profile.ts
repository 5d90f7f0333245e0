// Reads a V8 .cpuprofile (`node --cpu-prof`) and lists the functions with the most self time.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  fn: string;
  where: string;
  ms: number;
  share: number;
}

/** The newest .cpuprofile in a folder. */
export function newestProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

/**
 * Self time per function (name and source position), largest first. `(idle)` (waiting for I/O) is left out of the
 * list and of the shares, which are of busy time; `(program)` is native code outside JavaScript (syscalls, libuv).
 */
export function topSelfTime(file: string, n = 20, root = process.cwd()): { totalMs: number; idleMs: number; top: SelfTime[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, { fn: string; where: string; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (node === undefined) return;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      return;
    }
    const fn = functionName === '' ? '(anonymous)' : functionName;
    const path = url.startsWith('file://') ? relative(root, new URL(url).pathname) : url;
    const where = path === '' ? '' : `${path}:${lineNumber + 1}`;
    const key = `${fn}\u0000${where}`;
    const entry = selfUs.get(key) ?? { fn, where, us: 0 };
    entry.us += us;
    selfUs.set(key, entry);
    totalUs += us;
  });
  const top = [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, n)
    .map((e) => ({ fn: e.fn, where: e.where, ms: e.us / 1000, share: totalUs === 0 ? 0 : e.us / totalUs }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, top };
}
