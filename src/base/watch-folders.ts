// "Watch a folder, wait for the writes to settle, then look again": the config file, the manifests and the TLS
// pair all change this way. Folders rather than files, because a mounted ConfigMap or Secret is updated by
// swapping a symlink (a file watch would miss it) and editors replace files instead of writing them in place.
import fs from 'node:fs';

export interface FolderWatchOptions {
  /** Quiet time after the last event before `onChange` runs: one call for a burst of writes. */
  debounceMs: number;
  recursive?: boolean;
  /** The watchers alone do not keep the process alive. */
  unref?: boolean;
  /** A watcher failed later on; without it the error is unhandled, as fs.watch's own. */
  onWatchError?: (dir: string, err: Error) => void;
  /** A folder cannot be watched at all; without it the error is thrown. */
  onCannotWatch?: (dir: string, err: Error) => void;
}

export function watchFolders(dirs: Iterable<string>, onChange: () => void, opts: FolderWatchOptions): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const soon = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onChange, opts.debounceMs);
  };
  const watchers: fs.FSWatcher[] = [];
  for (const dir of new Set(dirs)) {
    let w: fs.FSWatcher;
    try {
      w = fs.watch(dir, { recursive: opts.recursive ?? false }, soon);
    } catch (err) {
      if (!opts.onCannotWatch) throw err;
      opts.onCannotWatch(dir, err as Error);
      continue;
    }
    if (opts.onWatchError) w.on('error', (err) => opts.onWatchError!(dir, err));
    if (opts.unref) w.unref();
    watchers.push(w);
  }
  return {
    stop: () => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
