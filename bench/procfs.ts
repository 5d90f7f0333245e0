// What the kernel knows about a process: CPU time (utime+stime, all threads) and memory (VmHWM, VmRSS), for a
// process and its descendants (NSD forks its server process), and the machine's busy time, to tell how much
// other work ran during a measurement.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clkTck: number | undefined;
/** Clock ticks per second of the times in /proc (USER_HZ, nearly always 100). */
export function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** Fields of /proc/<pid>/stat after the command name; index 0 is field 3 (state). */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone
  }
}

/** The process and all its descendants, alive now. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f === undefined) continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** utime + stime of these processes, in seconds. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (f !== undefined) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / ticksPerSecond();
}

/** CPU seconds of our own children that have exited and been waited for (cutime + cstime), e.g. dnsperf. */
export function reapedChildrenCpuSeconds(): number {
  const f = statFields('self');
  return f === undefined ? 0 : (Number(f[13]) + Number(f[14])) / ticksPerSecond();
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** Peak resident memory (VmHWM) summed over the processes, in MiB. Forked processes share pages: an upper bound. */
export const peakRssMiB = (pids: number[]): number => pids.reduce((sum, pid) => sum + statusKb(pid, 'VmHWM'), 0) / 1024;
/** Resident memory now (VmRSS) summed over the processes, in MiB. */
export const rssMiB = (pids: number[]): number => pids.reduce((sum, pid) => sum + statusKb(pid, 'VmRSS'), 0) / 1024;

/** Busy CPU seconds of the whole machine so far (every CPU: /proc/stat minus idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = v;
  return (user + nice + system + irq + softirq + steal) / ticksPerSecond();
}

/** The CPUs this process may run on, as taskset -c takes them ("0-1"). */
export function allowedCpus(pid: number | 'self' = 'self'): string {
  const m = /^Cpus_allowed_list:\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] ?? '';
}

/** Moves every thread of a process to these CPUs (taskset -a -p -c). Returns false if taskset failed. */
export function pinProcess(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
