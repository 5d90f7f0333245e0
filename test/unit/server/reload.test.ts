// The server's reload transaction and its states, in process: a reload that moves the DNS listener swaps it
// whole; one that fails leaves the old configuration serving; reloads run one at a time; stop is idempotent.
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/config.js';
import { silentLogger } from '../../../src/base/log.js';
import { startServer } from '../../../src/server/server.js';
import { freePort } from '../../cluster/ports.js';
import { query } from '../../helpers/dns-client.js';

const config = (...args: string[]) =>
  loadConfig('serve', ['--dns-addr', '127.0.0.1:0', '--metrics-addr', 'off', '--health-addr', 'off', '--ready-addr', 'off', '--no-forward', '--manifests', 'examples', ...args], {});

describe('server: reload and stop', function () {
  this.timeout(10_000);

  it('a reload is one transaction: the new configuration whole, or the old one untouched', async () => {
    const s = await startServer(config('--ttl', '5'), silentLogger);
    try {
      assert.equal(s.state, 'serving');
      const port = s.udp[0]!.address.port;
      assert.equal((await query(port, 'web.demo.svc.cluster.local', 1)).answers[0]!.ttl, 5);
      // A bad manifests path fails while building the new core: nothing changes.
      assert.equal(await s.reload(config('--ttl', '7', '--manifests', 'no/such/dir')), false);
      assert.equal(s.state, 'serving');
      assert.equal(s.config.ttl, 5);
      assert.equal((await query(port, 'web.demo.svc.cluster.local', 1)).answers[0]!.ttl, 5);
      // Two good ones at once, the second moving the DNS listener: they queue up, and the old listener is closed
      // after the swap.
      const next = await freePort();
      const [ok, again] = await Promise.all([s.reload(config('--ttl', '9')), s.reload(config('--ttl', '11', '--dns-addr', `127.0.0.1:${next}`))]);
      assert.deepEqual([ok, again], [true, true]);
      assert.equal(s.config.ttl, 11);
      assert.equal(s.udp[0]!.address.port, next);
      assert.equal((await query(next, 'web.demo.svc.cluster.local', 1)).answers[0]!.ttl, 11);
      await assert.rejects(query(port, 'web.demo.svc.cluster.local', 1, { timeoutMs: 300 }));
    } finally {
      await s.stop();
    }
  });

  it('stop: unready at once, stopped at the end, and a second stop is the same stop', async () => {
    const s = await startServer(config(), silentLogger);
    const first = s.stop({ lameduckMs: 100 });
    assert.equal(s.state, 'lameduck');
    assert.deepEqual(s.readiness(), { ready: false, detail: ['shutting down'] });
    assert.equal(await s.reload(config()), false, 'no reload while going away');
    await Promise.all([first, s.stop()]);
    assert.equal(s.state, 'stopped');
  });
});
