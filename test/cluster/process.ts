// Child processes of the control plane, and making sure none outlive us.
//
// Each child writes stdout and stderr to its own log file. Three layers guard against orphans:
//   1. SIGINT/SIGTERM/SIGHUP handlers stop every child gracefully (SIGTERM, then SIGKILL), remove the temp
//      dirs and exit with 128+signal. Callers that want their own signal handling (the CLI) opt out.
//   2. A process 'exit' handler SIGKILLs whatever is still alive, synchronously: the last resort when
//      someone calls process.exit() (mocha --exit does) without stopping the control plane first.
//   3. A small detached "reaper" process (reaper.ts) holds a pipe from us. When we die in a way no handler sees
//      (SIGKILL, a crash in native code) the pipe closes and the reaper kills the children and removes the dirs.
// Children are not detached, so a Ctrl-C in a terminal reaches them too.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { constants } from 'node:os';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

const live = new Set<ManagedProcess>();
const tempDirs = new Set<string>();
/** Synchronous clean-ups (the real node's teardown) run before children are killed, on every way out. */
const cleanups = new Set<() => void>();
let reaper: ChildProcess | undefined;

/** Tell the reaper (started on first use) about a pid or temp dir to clean up if we die; '-' forgets it. */
function tellReaper(line: string): void {
  if (reaper === undefined) {
    const script = fileURLToPath(new URL('./reaper.js', import.meta.url));
    // detached: its own session, so the Ctrl-C that kills us does not kill it before it has cleaned up.
    reaper = spawn(process.execPath, [script], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    reaper.on('error', () => undefined);
    reaper.stdin?.on('error', () => undefined);
    // Neither the reaper nor its pipe may keep our event loop alive.
    reaper.unref();
    (reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }
  reaper.stdin?.write(`${line}\n`);
}

export class ManagedProcess {
  readonly pid: number;
  exit: ExitInfo | undefined;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess;
  private stopping: Promise<void> | undefined;
  /** Where this run's output starts in the log, which earlier attempts (on another port) may have written to. */
  private readonly logOffset: number;

  constructor(readonly name: string, command: string, args: string[], readonly logPath: string) {
    const fd = openSync(logPath, 'a');
    this.logOffset = fstatSync(fd).size;
    try {
      this.child = spawn(command, args, { stdio: ['ignore', fd, fd], detached: false });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.exit ??= { code: null, signal: null, error };
        resolve(this.exit);
      });
      this.child.once('exit', (code, signal) => {
        this.exit ??= { code, signal };
        resolve(this.exit);
      });
    });
    this.pid = this.child.pid ?? -1;
    if (this.pid > 0) {
      live.add(this);
      tellReaper(`+pid ${this.pid}`);
      void this.exited.then(() => {
        live.delete(this);
        tellReaper(`-pid ${this.pid}`);
      });
    }
  }

  /** "exited with code 1", "was killed by SIGKILL" or "could not be started: ..." */
  describeExit(): string {
    const e = this.exit;
    if (e === undefined) return 'is running';
    if (e.error !== undefined) return `could not be started: ${e.error.message}`;
    return e.signal !== null ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
  }

  /** This run's part of the log file. */
  readLog(): string {
    try {
      return readFileSync(this.logPath).subarray(this.logOffset).toString('utf8');
    } catch {
      return '';
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited after timeoutMs. Idempotent. */
  stop(timeoutMs = 5000): Promise<void> {
    this.stopping ??= (async () => {
      if (this.exit !== undefined) return;
      this.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
      const result = await Promise.race([this.exited, timedOut]);
      clearTimeout(timer);
      if (result === 'timeout') {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    })();
    return this.stopping;
  }

  /** Synchronous last resort for the 'exit' handler. */
  killNow(): void {
    if (this.exit === undefined) this.child.kill('SIGKILL');
  }
}

/**
 * Registers a command for the reaper to run if we die without cleaning up (before it kills the pids it knows).
 * The command must be idempotent and finish within a minute; untrackCommand forgets it once we cleaned up.
 */
export function trackCommand(argv: string[]): void {
  tellReaper(`+cmd ${JSON.stringify(argv)}`);
}

export function untrackCommand(argv: string[]): void {
  tellReaper(`-cmd ${JSON.stringify(argv)}`);
}

/** Registers a temp dir to be removed if we are interrupted or die. */
export function trackTempDir(dir: string): void {
  tempDirs.add(dir);
  tellReaper(`+dir ${dir}`);
}

export function untrackTempDir(dir: string): void {
  tempDirs.delete(dir);
  tellReaper(`-dir ${dir}`);
}

/**
 * Registers a synchronous clean-up for stopAll() and the exit handler; returns the function that forgets it (call it
 * once the owner has cleaned up by itself).
 */
export function addCleanup(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

function runCleanups(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // each clean-up is best effort; the reaper runs the same commands again if we die
    }
  }
  cleanups.clear();
}

/** Stops every live child (gracefully, in parallel) and removes every tracked temp dir. */
export async function stopAll(timeoutMs = 5000): Promise<void> {
  runCleanups();
  await Promise.all([...live].map((p) => p.stop(timeoutMs)));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

let handlersInstalled = false;

/**
 * Installs the exit handler always, and the signal handlers unless the caller handles signals itself.
 * Called by startControlPlane; installing twice is a no-op.
 */
export function installCleanupHandlers(handleSignals: boolean): void {
  if (!handlersInstalled) {
    handlersInstalled = true;
    process.on('exit', () => {
      runCleanups();
      for (const p of live) p.killNow();
      for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    });
  }
  if (handleSignals) installSignalHandlers();
}

let signalHandlersInstalled = false;

function installSignalHandlers(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(128 + constants.signals[signal]); // second signal: the exit handler SIGKILLs
    interrupted = true;
    process.stderr.write(`\ncluster-dns test control plane: ${signal}, stopping\n`);
    void stopAll().finally(() => process.exit(128 + constants.signals[signal]));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}
