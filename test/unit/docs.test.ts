// The README is the contract: every flag and environment variable the code accepts is documented there.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { OPTIONS, envName } from '../../src/config/config.js';
import { DOCUMENTS } from '../docs/documents.js';

describe('README', () => {
  const readme = fs.readFileSync('README.md', 'utf8');
  for (const o of OPTIONS) {
    it(`documents --${o.name} and ${envName(o.name)}`, () => {
      assert.ok(readme.includes(`\`--${o.name}`), `--${o.name} missing from README`);
      assert.ok(readme.includes(envName(o.name)), `${envName(o.name)} missing from README`);
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
