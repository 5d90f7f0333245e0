// The static source: Kubernetes objects from YAML/JSON files (multi-document, `kind: List`, or a folder of
// them), fed through the same conversion as the API watches. Files are watched; a reload that fails keeps
// the last good state (never lose records), and a reload that succeeds removes objects that disappeared.
import { ManifestError } from '../base/errors.js';
export { ManifestError };
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import type { ClusterState } from '../cluster/state.js';
import type { ApiObject } from '../kube/convert.js';
import type { ObjectKind } from '../cluster/objects.js';
import { Latch } from '../base/latch.js';
import { watchFolders } from '../base/watch-folders.js';
import type { Logger } from '../base/log.js';
import { GROUP_VERSION, convertObject, deleteObject, objectKey } from './apply.js';


export interface LoadedObject {
  kind: ObjectKind;
  object: ApiObject;
  origin: string;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

export function manifestFiles(target: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (err) {
    throw new ManifestError(`--manifests ${target}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`);
  }
  if (!stat.isDirectory()) return [target];
  return fs
    .readdirSync(target, { recursive: true, encoding: 'utf8' })
    .filter((f) => MANIFEST_FILE.test(f))
    .sort()
    .map((f) => path.join(target, f));
}

/** Parses every file; throws ManifestError naming the file and document for the first bad one. */
export function loadManifests(target: string, warn: (msg: string) => void): LoadedObject[] {
  const out: LoadedObject[] = [];
  for (const file of manifestFiles(target)) {
    let docs: unknown[];
    try {
      docs = yaml.loadAll(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ManifestError(`${file}: ${(err as Error).message.split('\n')[0]}`);
    }
    docs.forEach((doc, i) => {
      if (doc === null || doc === undefined) return; // empty document between `---`
      const where = `${file} document ${i + 1}`;
      if (typeof doc !== 'object' || Array.isArray(doc)) throw new ManifestError(`${where}: not a Kubernetes object`);
      const o = doc as ApiObject;
      const items = o.kind === 'List' || (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o['items'])) ? (o['items'] as ApiObject[]) : [o];
      items.forEach((item, j) => {
        const origin = items.length > 1 || item !== o ? `${where} item ${j + 1}` : where;
        const kind = item?.kind as ObjectKind | undefined;
        if (!kind || !(kind in GROUP_VERSION)) {
          warn(`${origin}: kind ${JSON.stringify(item?.kind)} is not served, ignored`);
          return;
        }
        if (item.apiVersion !== GROUP_VERSION[kind]) {
          warn(`${origin}: ${kind} of apiVersion ${JSON.stringify(item.apiVersion)} is not served (want ${GROUP_VERSION[kind]}), ignored`);
          return;
        }
        if (!item.metadata?.name) throw new ManifestError(`${origin}: ${kind} has no metadata.name`);
        out.push({ kind, object: item, origin });
      });
    });
  }
  return out;
}

export class ManifestSource {
  private current = new Map<string, ObjectKind>(); // "Kind ns/name" → kind
  private watching: { stop(): void } | undefined;
  private readonly loaded = new Latch();

  constructor(
    private readonly target: string,
    private readonly state: ClusterState,
    private readonly log: Logger,
  ) {}

  synced(): boolean {
    return this.loaded.isOpen;
  }

  whenSynced(): Promise<void> {
    return this.loaded.promise;
  }

  /** Loads once (throwing on bad input: a bad start must stop start-up) and starts watching for changes. */
  start(watch = true): void {
    this.apply(loadManifests(this.target, (m) => this.log.warn(m)));
    this.loaded.open();
    if (watch) this.watch();
  }

  /** Validates everything before touching the state, so a bad file changes nothing. */
  private apply(objects: LoadedObject[]): void {
    const next = new Map<string, ObjectKind>();
    const changes: Array<(state: ClusterState) => void> = [];
    for (const { kind, object, origin } of objects) {
      try {
        changes.push(convertObject(kind, object));
      } catch (err) {
        throw new ManifestError(`${origin}: ${(err as Error).message}`);
      }
      next.set(`${kind} ${objectKey(object)}`, kind);
    }
    for (const [key, kind] of this.current) if (!next.has(key)) deleteObject(this.state, kind, key.substring(key.indexOf(' ') + 1));
    for (const change of changes) change(this.state);
    this.current = next;
  }

  reload(): void {
    try {
      this.apply(loadManifests(this.target, (m) => this.log.warn(m)));
      this.log.info('manifests reloaded', { path: this.target, objects: this.current.size });
    } catch (err) {
      this.log.error('manifest reload failed; still serving the last good state', { error: (err as Error).message });
    }
  }

  private watch(): void {
    const dirs = fs.statSync(this.target).isDirectory() ? [this.target] : [path.dirname(this.target)];
    this.watching = watchFolders(dirs, () => this.reload(), {
      debounceMs: 100,
      recursive: true,
      onWatchError: (_dir, err) => this.log.warn('manifest watch error', { error: err }),
      onCannotWatch: (_dir, err) => this.log.warn('cannot watch manifests; changes need a restart', { error: err }),
    });
  }

  stop(): void {
    this.watching?.stop();
    this.watching = undefined;
  }
}
