// The README is the contract: every flag and environment variable the code accepts is documented there.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { OPTIONS, envName } from '../../src/config/config.js';

describe('README', () => {
  const readme = fs.readFileSync('README.md', 'utf8');
  for (const o of OPTIONS) {
    it(`documents --${o.name} and ${envName(o.name)}`, () => {
      assert.ok(readme.includes(`\`--${o.name}`), `--${o.name} missing from README`);
      assert.ok(readme.includes(envName(o.name)), `${envName(o.name)} missing from README`);
    });
  }
});
