// `npm run cluster -- --node` as a user runs it: the KUBECONFIG= line only once the cluster is usable, and nothing
// left on the machine after SIGTERM or after SIGKILL (then the reaper runs the teardown). Runs before the other
// node suites and stops the shared node first: only one real node fits the fixed addresses at a time.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { NETNS_PREFIX } from '../cluster/node/layout.js';
import { cgroupHierarchies } from '../cluster/node/teardown.js';
import { stopNodeCluster } from '../cluster/root-hooks.js';

const CLI = 'dist/test/cluster/cli.js';

/** Everything a node run can leave on the machine, found by its naming scheme rather than by one run's record. */
function nodeLeftovers(): string[] {
  const found: string[] = [];
  if (existsSync('/var/run/netns')) found.push(...readdirSync('/var/run/netns').filter((n) => n.startsWith(NETNS_PREFIX)).map((n) => `netns ${n}`));
  found.push(...readdirSync('/sys/class/net').filter((n) => /^cd[hn]-/.test(n) || n === 'cni0').map((n) => `interface ${n}`));
  for (const h of cgroupHierarchies()) found.push(...readdirSync(h).filter((n) => n.startsWith('cluster-dns-')).map((n) => `cgroup ${h}/${n}`));
  found.push(...readdirSync(tmpdir()).filter((n) => n.startsWith('cluster-dns-node-') || n.startsWith('cluster-dns-cp-')).map((n) => `dir ${join(tmpdir(), n)}`));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes('/cluster-dns-node-'));
  if (mounts.length > 0) found.push(`${mounts.length} mounts`);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const dir = /cluster-dns-(node|cp)-[\w]+/.exec(cmd)?.[0];
      if (dir !== undefined && !cmd.includes('teardown.js')) found.push(`process ${pid} of ${dir}: ${cmd.slice(0, 60)}`);
    } catch {
      // gone
    }
  }
  return found;
}

/** Waits until nothing is left but what was there before (the fake-node control plane of other suites). */
async function waitClean(baseline: string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = nodeLeftovers().filter((thing) => !baseline.includes(thing));
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Starts the CLI and resolves with the KUBECONFIG path once it prints the line (or rejects when it exits first). */
function startCli(): Promise<{ child: ChildProcess; kubeconfig: string; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--node'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const line = /^KUBECONFIG=(.+)$/m.exec(stdout);
      if (line !== null) resolve({ child, kubeconfig: line[1]!, stderr: () => stderr });
    });
    child.on('exit', (code, signal) => reject(new Error(`cli exited (${code ?? signal}) before KUBECONFIG=: ${stderr.slice(-2000)}`)));
  });
}

describe('npm run cluster -- --node', function () {
  this.timeout(600_000);

  before(async function () {
    this.timeout(120_000);
    await stopNodeCluster();
    assert.deepEqual(nodeLeftovers().filter((thing) => !thing.includes('cluster-dns-cp-')), [], 'no node may be running before the test');
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`prints KUBECONFIG= when the node is usable, and leaves nothing behind after ${signal}`, async () => {
      const baseline = nodeLeftovers();
      const { child, kubeconfig, stderr } = await startCli();
      assert.ok(existsSync(kubeconfig));
      assert.match(stderr(), /cluster ready in [\d.]+ s/);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill(signal);
      const code = await exited;
      if (signal === 'SIGTERM') assert.equal(code, 0, stderr().slice(-2000));
      // After SIGKILL the reaper tears the node down; give it the time that takes.
      assert.deepEqual(await waitClean(baseline, 90_000), [], `left behind after ${signal}`);
    });
  }
});
