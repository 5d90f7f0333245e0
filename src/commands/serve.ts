// `cluster-dns serve` as a process: configuration, logging, the server, live reload of the --config file,
// and a graceful stop on SIGTERM/SIGINT (unready, lameduck, drain, exit 0; a second signal exits at once).
import { watchFolders } from '../base/watch-folders.js';
import fs from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { type Config, loadConfig } from '../config/config.js';
import { createLogger } from '../base/log.js';
import { startServer } from '../server/server.js';

function watchConfigFile(file: string, onChange: () => void): void {
  let last = fs.readFileSync(file, 'utf8');
  const changed = (): void => {
    let now: string;
    try {
      now = fs.readFileSync(file, 'utf8');
    } catch {
      return onChange(); // a missing file is an invalid config: reported by the reload
    }
    if (now === last) return;
    last = now;
    onChange();
  };
  watchFolders([path.dirname(path.resolve(file))], changed, { debounceMs: 200, unref: true });
}

/**
 * V8 grows the old generation's limit by up to 4x its live size after each full collection; under load the 1 MB
 * young generation (the bin's flags) promotes every query object alive at a scavenge, so the resident set rises
 * by that much garbage before the next collection. 1.5x instead: measured by hand at 10,000 Services (after Run 5
 * of docs/benchmarks.md), peak RSS under the bench's three query files 235-240 -> 199 MiB, RSS at ready 153-155 ->
 * 129-138 MiB, QPS and p99 within the noise, 0.2-0.7 s more CPU to ready. Set here because NODE_OPTIONS refuses the flag, and V8 reads
 * it at every collection, so it applies from now on whatever started the process.
 */
export const HEAP_GROWING_PERCENT = 50;

export async function serve(argv: string[]): Promise<number> {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const config = loadConfig('serve', argv);
  let log = createLogger(config.logLevel);
  const server = await startServer(config, log);
  log.info('serving', { zones: config.zones, ready: server.readiness().ready });

  if (config.config) {
    watchConfigFile(config.config, () => {
      let next: Config;
      try {
        next = loadConfig('serve', argv);
      } catch (err) {
        log.error('configuration reload failed; the previous configuration keeps serving', { error: (err as Error).message });
        return;
      }
      log = createLogger(next.logLevel);
      void server.reload(next);
    });
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('stopping', { signal, lameduckSeconds: server.config.lameduck });
    void server.stop({ lameduckMs: server.config.lameduck * 1000 }).then(() => {
      log.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return 0;
}
