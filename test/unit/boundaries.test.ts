// The walls between layers (ARCHITECTURE.md, "Layers and their rules"), checked on the import statements of
// src/ so they hold without a reviewer. Type-only and dynamic imports count: a type import of prom-client in
// the wrong file is the first step of a value import there.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

interface Import {
  from: string; // file, relative to the repository root
  spec: string; // as written
  target: string | undefined; // resolved .ts file for relative imports
}

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every import of the .ts files under `dir`, comments stripped first so prose naming a package does not count. */
export function importsOf(dir: string): Import[] {
  const out: Import[] = [];
  for (const file of files(dir)) {
    const text = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      const target = spec.startsWith('.') ? path.normalize(path.join(path.dirname(file), spec)).replace(/\.js$/, '.ts') : undefined;
      out.push({ from: path.normalize(file), spec, target });
    }
  }
  return out;
}

const SRC = 'src';
const folderOf = (file: string): string => {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length > 1 ? rel[0]! : '.';
};
const src = importsOf(SRC);
const list = (bad: Import[]): string => bad.map((i) => `${i.from} → ${i.spec}`).join('\n');

describe('layer boundaries (imports of src/)', () => {
  it('finds the imports it checks', () => {
    assert.ok(src.length > 250, `only ${src.length} imports found: the scanner is broken`);
    assert.ok(src.some((i) => i.spec === 'prom-client'), 'a static import');
    assert.ok(src.some((i) => i.spec === '@kubernetes/client-node' && i.from.endsWith(path.join('kube', 'client.ts'))), 'a dynamic import');
    assert.ok(src.some((i) => i.spec === './message.js' && i.from.endsWith(path.join('dns', 'exchange.ts'))), 'a type-only import');
  });

  it('@kubernetes/client-node only in the Kubernetes adapter (kube/)', () => {
    assert.equal(list(src.filter((i) => i.spec.startsWith('@kubernetes/client-node') && folderOf(i.from) !== 'kube')), '');
  });

  it('prom-client only in ops/metrics.ts, type imports included', () => {
    assert.equal(list(src.filter((i) => i.spec.startsWith('prom-client') && i.from !== path.join(SRC, 'ops', 'metrics.ts'))), '');
  });

  it('dns/ imports nothing above it (only dns/, the leaves net/ and base/, and Node built-ins)', () => {
    const bad = src.filter((i) => folderOf(i.from) === 'dns' && (i.target ? !['dns', 'net', 'base'].includes(folderOf(i.target)) : !i.spec.startsWith('node:')));
    assert.equal(list(bad), '');
  });

  it('base/ is the bottom, and net/ stands on it alone', () => {
    const allowed: Record<string, string[]> = { base: ['base'], net: ['net', 'base'] };
    const bad = src.filter((i) => allowed[folderOf(i.from)] && i.target && !allowed[folderOf(i.from)]!.includes(folderOf(i.target)));
    assert.equal(list(bad), '');
  });

  it('no folder-level cycle in src/', () => {
    const edges = new Map<string, Map<string, Import>>();
    for (const i of src) {
      if (!i.target?.startsWith(SRC + path.sep)) continue;
      const a = folderOf(i.from);
      const b = folderOf(i.target);
      if (a === b) continue;
      if (!edges.has(a)) edges.set(a, new Map());
      if (!edges.get(a)!.has(b)) edges.get(a)!.set(b, i);
    }
    // Depth-first search for a back edge; the cycle found is reported with one import per arrow.
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const cycles: string[] = [];
    const visit = (n: string): void => {
      state.set(n, 'open');
      stack.push(n);
      for (const [m] of edges.get(n) ?? []) {
        if (state.get(m) === 'open') {
          const loop = [...stack.slice(stack.indexOf(m)), m];
          cycles.push(loop.slice(1).map((to, k) => { const e = edges.get(loop[k]!)!.get(to)!; return `${e.from} → ${e.spec}`; }).join('; '));
        } else if (!state.has(m)) visit(m);
      }
      stack.pop();
      state.set(n, 'done');
    };
    for (const n of [...edges.keys()].sort()) if (!state.has(n)) visit(n);
    assert.deepEqual(cycles, []);
  });

  it('no file outside dns/ reads or writes DNS words by offset (a heuristic for header bits)', () => {
    // kube/protobuf.ts is the other wire codec (the Kubernetes API's protobuf and its watch framing): its bytes
    // stay there as DNS's stay in dns/.
    const offenders = fs
      .readdirSync(SRC, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.startsWith(`dns${path.sep}`) && f !== path.join('kube', 'protobuf.ts'))
      .filter((f) => /\.(read|write)UInt(16|32)BE\(|[&|]\s*0x8000\b/.test(fs.readFileSync(path.join(SRC, f), 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('the shared test harness does not import bench/', () => {
    const bad = [...importsOf(path.join('test', 'helpers')), ...importsOf(path.join('test', 'cluster'))].filter((i) => i.target?.startsWith('bench' + path.sep));
    assert.equal(list(bad), '');
  });
});
