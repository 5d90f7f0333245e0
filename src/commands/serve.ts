// `cluster-dns serve` as a process: configuration, logging, the server, live reload of the --config file,
// and a graceful stop on SIGTERM/SIGINT (unready, lameduck, drain, exit 0; a second signal exits at once).
import { watchFolders } from '../base/watch-folders.js';
import fs from 'node:fs';
import path from 'node:path';
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

export async function serve(argv: string[]): Promise<number> {
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
