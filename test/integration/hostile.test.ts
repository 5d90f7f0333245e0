// Hostile traffic against a real server process (test/helpers/hostile.ts): every abusive pattern of
// docs/reliability.md for a few seconds each, with the server's RSS and external memory sampled throughout and a
// canary query that must keep being answered. Fails past the documented bound (a 256 MiB pod limit with margin;
// the shipped medium Deployment has 320 MiB), or on one unanswered canary. `npm run soak` runs the same patterns
// for minutes.
import assert from 'node:assert/strict';
import { MB, type HostileServer, NormalPeaks, canary, sampler, scrapeGauge, startHostileServer, summary } from '../helpers/hostile.js';
import { RUN_ORDER } from '../helpers/hostile-patterns.js';
import { Rng } from '../helpers/packets.js';

/** The bound of docs/reliability.md: RSS under 224 MiB (a 256 MiB pod limit; the shipped medium one is 320 MiB), external memory under 64 MiB. */
const RSS_BOUND = 224 * 1024 * 1024;
const EXTERNAL_BOUND = 64 * 1024 * 1024;
const SECONDS_EACH = 3.5;

describe('hostile traffic (real server process, loopback)', function () {
  this.timeout(120_000);
  let server: HostileServer;
  before(async () => {
    // A low connection cap and idle timeout, so the floods go past them within seconds.
    server = await startHostileServer(['--tcp-max-connections', '200', '--tcp-idle-timeout', '2']);
  });
  after(async () => server?.stop());

  it('keeps memory within the bound and answers the canary under every pattern', async () => {
    const seed = Number(process.env['FUZZ_SEED'] ?? Date.now()) >>> 0;
    const rng = new Rng(seed);
    const watch = sampler(server);
    let running = '';
    const bird = canary(server.dns, 200, () => running);
    const peaks: string[] = [];
    const normal = new NormalPeaks();
    try {
      for (const [name, pattern] of RUN_ORDER) {
        running = name;
        const from = watch.samples.length;
        // Clients that never read get longer: their cost is what piles up over time.
        const seconds = name === 'tcp clients that never read' ? 3 * SECONDS_EACH : SECONDS_EACH;
        const sent = await pattern(server.dns, rng, Date.now() + seconds * 1000, 2_000_000);
        const peak = summary(watch.samples.slice(from));
        peaks.push(`${name}: ${sent} sent, peak RSS ${MB(peak.rss)}, external ${MB(peak.external)}, heap ${MB(peak.heap)}`);
        normal.see(name, peak.rss);
      }
    } finally {
      await bird.stop();
      await watch.stop();
    }
    const all = summary(watch.samples);
    // The ratios of docs/reliability.md, reported, not asserted: the 1.5x is not met yet (1.5-1.67x over UDP).
    const report = `seed ${seed}\n  ${peaks.join('\n  ')}\n  peak ${normal.ratios(all.rss)}`;
    console.log(`      ${report.replace(/\n/g, '\n    ')}`);
    assert.deepEqual(bird.failures, [], report);
    assert.ok(bird.answered > 50, `canary answered ${bird.answered} times\n${report}`);
    assert.ok(all.rss < RSS_BOUND, `peak RSS ${MB(all.rss)} over ${MB(RSS_BOUND)}\n${report}`);
    assert.ok(all.external < EXTERNAL_BOUND, `peak external ${MB(all.external)} over ${MB(EXTERNAL_BOUND)}\n${report}`);
    // The limits' series are exported (whether a pause happens within seconds depends on the kernel's buffers,
    // which take megabytes per connection on loopback first; test/unit/transport/limits.test.ts proves it).
    assert.ok(!Number.isNaN(await scrapeGauge(server.metrics, 'cluster_dns_queued_bytes')), 'cluster_dns_queued_bytes exported');
  });
});
