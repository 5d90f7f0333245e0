// `npm run soak`: the hostile-traffic patterns of test/helpers/hostile.ts for minutes (SOAK_SECONDS each,
// default 30), against a real server process on loopback, printing RSS and external memory over time and the
// peak per pattern. Every pattern is bounded by its deadline and by SOAK_COUNT packets or connections.
import { MB, NormalPeaks, canary, sampler, startHostileServer, summary } from '../helpers/hostile.js';
import { RUN_ORDER } from '../helpers/hostile-patterns.js';
import { Rng } from '../helpers/packets.js';

const seconds = Number(process.env['SOAK_SECONDS'] ?? 30);
const count = Number(process.env['SOAK_COUNT'] ?? 50_000_000);
const seed = Number(process.env['FUZZ_SEED'] ?? Date.now()) >>> 0;

const server = await startHostileServer(process.argv.slice(2));
const rng = new Rng(seed);
const watch = sampler(server, 1000);
const bird = canary(server.dns, 500);
const t0 = Date.now();
const ticker = setInterval(() => {
  const s = watch.samples.at(-1);
  if (s) console.log(`  t=${((s.at - t0) / 1000).toFixed(0)}s rss=${MB(s.rss)} external=${MB(s.external)}`);
}, 5000);
console.log(`soak: seed ${seed}, ${seconds} s per pattern, server pid ${server.pid} (extra flags: ${process.argv.slice(2).join(' ') || 'none'})`);
const rows: string[] = [];
const normal = new NormalPeaks();
for (const [name, pattern] of RUN_ORDER) {
  console.log(`- ${name}`);
  const from = watch.samples.length;
  const sent = await pattern(server.dns, rng, Date.now() + seconds * 1000, count);
  const peak = summary(watch.samples.slice(from));
  const last = watch.samples.at(-1);
  normal.see(name, peak.rss);
  rows.push(`| ${name} | ${sent} | ${MB(peak.rss)} | ${MB(peak.external)} | ${last ? MB(last.rss) : '?'} |`);
}
clearInterval(ticker);
await bird.stop();
await watch.stop();
await server.stop();
const all = summary(watch.samples);
console.log('\n| pattern | packets or connections | peak RSS | peak external | RSS at the end |\n| --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
console.log(`\noverall peak RSS ${MB(all.rss)} (${normal.ratios(all.rss)}), external ${MB(all.external)}; canary answered ${bird.answered}, failures ${bird.failures.length}`);
for (const f of bird.failures.slice(0, 10)) console.log(`  ${f}`);
process.exit(bird.failures.length ? 1 : 0);
