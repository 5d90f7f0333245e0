// The documents are the contract: every flag and environment variable the code accepts is in
// docs/configuration.md, the generated documents are current, and every link between documents resolves.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { OPTIONS, envName } from '../../src/config/config.js';
import { DOCUMENTS } from '../docs/documents.js';

describe('docs/configuration.md', () => {
  const reference = fs.readFileSync('docs/configuration.md', 'utf8');
  for (const o of OPTIONS) {
    it(`documents --${o.name} and ${envName(o.name)}`, () => {
      assert.ok(reference.includes(`\`--${o.name}`), `--${o.name} missing from docs/configuration.md`);
      assert.ok(reference.includes(envName(o.name)), `${envName(o.name)} missing from docs/configuration.md`);
    });
  }
});

describe('generated documents (npm run docs)', () => {
  for (const [file, render] of Object.entries(DOCUMENTS)) {
    it(`${file} is current`, () => {
      assert.equal(fs.readFileSync(file, 'utf8'), render(), `${file} is stale: run npm run docs`);
    });
  }
});

describe('links between documents', () => {
  const docs = ['README.md', 'ARCHITECTURE.md', ...fs.readdirSync('docs', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))];
  for (const file of docs) {
    it(`${file}: every relative link names a file in the repository`, () => {
      const text = fs.readFileSync(file, 'utf8');
      const broken = [...text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
        .map((m) => m[1]!)
        .filter((target) => !/^[a-z]+:/.test(target))
        .filter((target) => !fs.existsSync(path.join(path.dirname(file), target)));
      assert.deepEqual(broken, []);
    });
  }

  // The phrases of notes that lived outside the repository; spelled in two parts so this file does not match.
  const outside = new RegExp(['shared (spec ', 'digest|notes)'].join(''));
  it('no file cites a document that is not in the repository', () => {
    const cites = (dir: string): string[] =>
      fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => /\.(ts|md)$/.test(f))
        .filter((f) => outside.test(fs.readFileSync(path.join(dir, f), 'utf8')))
        .map((f) => path.join(dir, f));
    assert.deepEqual([...cites('src'), ...cites('test/unit'), ...cites('test/integration'), ...cites('test/helpers'), ...cites('docs'), ...['README.md', 'ARCHITECTURE.md'].filter((f) => outside.test(fs.readFileSync(f, 'utf8')))], []);
  });
});
