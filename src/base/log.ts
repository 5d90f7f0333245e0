// Structured JSON logs, one object per line on stderr (stdout stays free for `cluster-dns zone`).
// Levels as numbers so filtering is a comparison; `msg` and `level` first so lines read well in kubectl logs.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LogSink {
  write(line: string): void;
}

function serializeError(v: unknown): unknown {
  return v instanceof Error ? { message: v.message, ...(v.stack ? { stack: v.stack.split('\n').slice(0, 4).join('\n') } : {}) } : v;
}

export function createLogger(level: Level = 'info', sink: LogSink = process.stderr, base: Record<string, unknown> = {}): Logger {
  const min = ORDER[level];
  const emit = (lvl: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lvl] < min) return;
    const entry: Record<string, unknown> = { level: lvl, time: new Date().toISOString(), msg, ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) entry[k] = serializeError(v);
    sink.write(`${JSON.stringify(entry)}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, sink, { ...base, ...fields }),
  };
}

/** For tests and tools that want silence. */
export const silentLogger: Logger = createLogger('error', { write: () => {} });
