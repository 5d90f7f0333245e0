// One folder per test run for the temp files tests make: TMPDIR points at it, for this process and the processes
// it starts, and the run's end removes it. Tests that forget their own clean-up (a failed assertion skips it) then
// leave nothing in /tmp; before this, a week of CI runs left thousands of folders there (1.2 GB).
// The real node keeps the machine's temp folder (`machineTmpdir`): its folder holds mounts and unix sockets whose
// paths must stay short, and its own teardown (the reaper's too, after a SIGKILL) removes it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The temp folder the machine gives, before the run's scratch folder replaces it. */
export const machineTmpdir = tmpdir();

let scratch: string | undefined;

/** Makes the run's scratch folder and points TMPDIR at it; returns its path. */
export function startScratch(): string {
  scratch ??= mkdtempSync(join(machineTmpdir, 'cdns-test-run-'));
  process.env['TMPDIR'] = scratch;
  return scratch;
}

/** Mount points at or under `dir`, from /proc/self/mounts (where a space is written `\040`). */
export function mountsUnder(dir: string, mountsText = readFileSync('/proc/self/mounts', 'utf8')): string[] {
  return mountsText
    .split('\n')
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/**
 * Removes the scratch folder, unless something is still mounted in it: a recursive delete would go through the
 * mount into what it shows. Then the folder stays and one line says why.
 */
export function removeScratch(): void {
  if (scratch === undefined) return;
  const mounted = mountsUnder(scratch);
  if (mounted.length > 0) {
    process.stderr.write(`test scratch folder ${scratch} left in place: still mounted there: ${mounted.join(', ')}\n`);
    return;
  }
  rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
  process.env['TMPDIR'] = machineTmpdir;
}
