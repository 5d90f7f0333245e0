// The webhook's certificate and key files, re-read when they change: a Secret volume is updated in place (the
// kubelet swaps a `..data` symlink), cert-manager rotates on its own schedule, and a restart for a new
// certificate would be a needless gap. A new pair is used only once it loads as a matching pair, so reading
// between the two file writes of a rotation keeps the old pair instead of failing handshakes.
import { watchFolders } from '../base/watch-folders.js';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../config/config.js';
import type { Logger } from '../base/log.js';

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

export interface TlsPaths {
  cert: string;
  key: string;
}

function read(paths: TlsPaths): TlsPair {
  return { cert: fs.readFileSync(paths.cert), key: fs.readFileSync(paths.key) };
}

/** Throws when the pair does not load (unreadable, not PEM, key and certificate do not match). */
function check(pair: TlsPair): void {
  createSecureContext({ cert: pair.cert, key: pair.key });
}

/** The first load: any problem stops start-up, naming the file. */
export function loadTlsPair(paths: TlsPaths): TlsPair {
  let pair: TlsPair;
  try {
    pair = read(paths);
  } catch (err) {
    throw new ConfigError(`--tls-cert ${paths.cert} / --tls-key ${paths.key}: ${(err as Error).message}`);
  }
  try {
    check(pair);
  } catch (err) {
    throw new ConfigError(`--tls-cert ${paths.cert} and --tls-key ${paths.key} do not load as a pair: ${(err as Error).message}`);
  }
  return pair;
}

export function describeCert(pem: Buffer): Record<string, unknown> {
  try {
    const c = new X509Certificate(pem);
    return { subjectAltName: c.subjectAltName, validTo: new Date(c.validTo).toISOString(), fingerprint256: c.fingerprint256 };
  } catch {
    return {};
  }
}

/**
 * Calls `apply` with each new valid pair. Watches the files' folders (symlink swaps show up there, not on the
 * files) and also polls every `pollMs`, since some filesystems never report changes.
 */
export function watchTlsPair(paths: TlsPaths, initial: TlsPair, apply: (pair: TlsPair) => void, log: Logger, pollMs = 10_000): { stop(): void } {
  let current = initial;
  let lastRejected = '';
  const reload = (): void => {
    let next: TlsPair;
    try {
      next = read(paths);
    } catch (err) {
      log.warn('cannot read the TLS files; keeping the current certificate', { error: (err as Error).message });
      return;
    }
    if (next.cert.equals(current.cert) && next.key.equals(current.key)) return;
    try {
      check(next);
    } catch (err) {
      const id = `${next.cert.toString('base64')}|${next.key.toString('base64')}`;
      if (id !== lastRejected) log.warn('new TLS files do not load as a pair (yet); keeping the current certificate', { error: (err as Error).message });
      lastRejected = id;
      return;
    }
    current = next;
    apply(next);
    log.info('TLS certificate reloaded', describeCert(next.cert));
  };
  // A rotation writes several files: look once they are all there.
  const watch = watchFolders([path.dirname(paths.cert), path.dirname(paths.key)], reload, {
    debounceMs: 100,
    onWatchError: (dir, err) => log.warn('TLS folder watch failed; polling only', { dir, error: err.message }),
    onCannotWatch: (dir, err) => log.warn('cannot watch the TLS folder; polling only', { dir, error: err.message }),
  });
  const poll = setInterval(reload, pollMs);
  poll.unref();
  return {
    stop: () => {
      clearInterval(poll);
      watch.stop();
    },
  };
}
