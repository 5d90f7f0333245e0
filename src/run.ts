// `cluster-dns serve` as a process: configuration, logging, the server, and a graceful stop on signals.
import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startServer } from './serve.js';

export async function serve(argv: string[]): Promise<number> {
  const config = loadConfig('serve', argv);
  const log = createLogger(config.logLevel);
  const server = await startServer(config, log);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    void server.stop().then(() => {
      log.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return 0;
}
