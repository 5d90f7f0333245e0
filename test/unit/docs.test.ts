// The documents are the contract: every flag and environment variable the code accepts is in
// docs/configuration.md, and the generated documents are current.
import assert from 'node:assert/strict';
import fs from 'node:fs';
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
