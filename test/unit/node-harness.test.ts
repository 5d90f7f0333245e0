// The real node harness's pure parts: the names a run creates (the kernel's 15-character limit on interface names,
// one prefix the teardown and the leftover check can find) and containerd's full names for the images the
// manifests name (the kubelet asks for `cluster-dns:0.1.0`, containerd lists docker.io/library/cluster-dns:0.1.0).
import assert from 'node:assert/strict';
import { fullImageName } from '../cluster/node/images.js';
import { FIXED_HOST_DIRS, NETNS_PREFIX, nodeResources } from '../cluster/node/layout.js';

describe('real node harness: names', () => {
  it('gives each run its own namespace, veths and cgroup under names the teardown can find', () => {
    const a = nodeResources('/tmp');
    const b = nodeResources('/tmp');
    assert.notEqual(a.id, b.id);
    for (const r of [a, b]) {
      assert.ok(r.netns.startsWith(NETNS_PREFIX));
      assert.ok(r.hostVeth.length <= 15 && r.nodeVeth.length <= 15, `${r.hostVeth} / ${r.nodeVeth}: interface names are at most 15 characters`);
      assert.equal(r.dir, `/tmp/cluster-dns-node-${r.id}`);
      assert.equal(r.cgroup, `/cluster-dns-${r.id}`);
      for (const dir of r.hostDirsToPrune) assert.ok(FIXED_HOST_DIRS.includes(dir));
    }
  });

  it("names images as containerd lists them", () => {
    const cases: Array<[string, string]> = [
      ['cluster-dns:0.1.0', 'docker.io/library/cluster-dns:0.1.0'],
      ['someone/tool:1', 'docker.io/someone/tool:1'],
      ['registry.k8s.io/pause:3.10.1', 'registry.k8s.io/pause:3.10.1'],
      ['localhost/base:24', 'localhost/base:24'],
      ['127.0.0.1:5000/x:1', '127.0.0.1:5000/x:1'],
      ['docker.io/library/cluster-dns:0.1.0', 'docker.io/library/cluster-dns:0.1.0'],
    ];
    for (const [name, full] of cases) assert.equal(fullImageName(name), full, name);
  });
});
