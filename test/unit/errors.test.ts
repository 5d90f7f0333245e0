// The error registry (base/errors.ts), as fastify's errors test: codes are the table's keys, each class
// raises its own code, exit statuses and briefness are what the CLI promises, and docs/errors.md is current.
import assert from 'node:assert/strict';
import * as errors from '../../src/base/errors.js';

const { ERROR_CODES, CodedError, exitReport, isCodedError } = errors;

describe('error codes', () => {
  it('every coded error class raises a code of the registry, and each code has one class at most', () => {
    const seen = new Map<string, string>();
    for (const [name, value] of Object.entries(errors)) {
      if (typeof value !== 'function' || !(value.prototype instanceof CodedError)) continue;
      const e = new (value as new (...a: unknown[]) => errors.CodedError)(...(name === 'ApiRequestError' || name === 'UpstreamError' ? [0, 'x'] : ['x', undefined]));
      assert.ok(e.code in ERROR_CODES, `${name} raises ${e.code}`);
      assert.ok(isCodedError(e));
      assert.equal(seen.get(e.code), undefined, `${e.code} raised by ${seen.get(e.code)} and ${name}`);
      seen.set(e.code, name);
    }
    assert.ok(seen.size >= 10);
  });

  it('codes follow one pattern', () => {
    for (const code of Object.keys(ERROR_CODES)) assert.match(code, /^CDNS_ERR_[A-Z_]+$/);
  });

  it('a user mistake is one line and exit 2; a listener that cannot bind is one line and exit 1; a bug is a stack and exit 1', () => {
    assert.deepEqual(exitReport(new errors.ConfigError('--ttl: bad')), { text: '--ttl: bad', exit: 2 });
    assert.deepEqual(exitReport(new errors.ManifestError('f.yaml: bad')), { text: 'f.yaml: bad', exit: 2 });
    assert.deepEqual(exitReport(new errors.ListenError('cannot listen')), { text: 'cannot listen', exit: 1 });
    const bug = exitReport(new TypeError('oops'));
    assert.equal(bug.exit, 1);
    assert.match(bug.text, /^TypeError: oops\n\s+at /);
    assert.equal(exitReport('a string').text, 'a string');
  });
});
