// Orphan reaper, run as a detached child by process.ts.
//
// Reads lines "+pid N", "-pid N", "+dir PATH", "-dir PATH", "+cmd JSON-ARGV", "-cmd JSON-ARGV" on stdin. When stdin
// closes, because the test process exited or was SIGKILLed, it first runs the commands still listed, one after the
// other (the real node's teardown: it kills the node's process tree, unmounts and deletes its network namespace),
// then SIGTERMs the pids still listed, SIGKILLs those alive 3 s later, removes the dirs and exits. To avoid killing an unrelated process that reused a pid, it remembers each pid's start time from
// /proc/N/stat and only signals a pid whose start time still matches (Linux; elsewhere it trusts the pid).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

const pids = new Map<number, string | undefined>();
const dirs = new Set<string>();
const cmds = new Set<string>();

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); fields are counted after the ")" that closes the command name.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function signalIfOurs(pid: number, signal: NodeJS.Signals): boolean {
  const started = pids.get(pid);
  if (started !== undefined && startTime(pid) !== started) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [op, ...rest] = line.split(' ');
  const arg = rest.join(' ');
  if (op === '+pid') pids.set(Number(arg), startTime(Number(arg)));
  else if (op === '-pid') pids.delete(Number(arg));
  else if (op === '+dir') dirs.add(arg);
  else if (op === '-dir') dirs.delete(arg);
  else if (op === '+cmd') cmds.add(arg);
  else if (op === '-cmd') cmds.delete(arg);
}).on('close', () => {
  for (const cmd of cmds) {
    const [file, ...args] = JSON.parse(cmd) as string[];
    if (file !== undefined) spawnSync(file, args, { stdio: 'ignore', timeout: 60_000 });
  }
  const alive = [...pids.keys()].filter((pid) => signalIfOurs(pid, 'SIGTERM'));
  setTimeout(() => {
    for (const pid of alive) signalIfOurs(pid, 'SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }, alive.length > 0 ? 3000 : 0);
});
