import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { machineTmpdir, mountsUnder } from '../../cluster/scratch.js';

describe('test scratch folder', () => {
  it('is the temp folder of the run, inside the machine one', () => {
    assert.notEqual(tmpdir(), machineTmpdir);
    assert.ok(tmpdir().startsWith(`${machineTmpdir}/cdns-test-run-`), tmpdir());
  });

  it('finds mounts at or under a folder, spaces unescaped, and not those of a sibling with the same prefix', () => {
    const mounts = [
      'proc /proc proc rw 0 0',
      'tmpfs /tmp/run-1 tmpfs rw 0 0',
      'overlay /tmp/run-1/node/rootfs\\040a overlay rw 0 0',
      'tmpfs /tmp/run-10 tmpfs rw 0 0',
      '',
    ].join('\n');
    assert.deepEqual(mountsUnder('/tmp/run-1', mounts), ['/tmp/run-1', '/tmp/run-1/node/rootfs a']);
    assert.deepEqual(mountsUnder('/tmp/run-2', mounts), []);
  });
});
