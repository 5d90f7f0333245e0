// Randomized differential suite against CoreDNS under real Corefiles (issue 13). A seed (DIFF_SEED, printed on
// every run and in every failure) draws the Corefile variants, the cluster state written through the real API
// server, the changes between rounds and the questions. For each Corefile, CoreDNS runs it and cluster-dns runs
// what `cluster-dns import-corefile` prints for it; both get the same bytes and every reply pair is compared
// (test/differential/compare.ts). A difference fails the run unless a rule in kept-differences.ts allows it.
// `npm test` runs the small profile; `npm run conformance` (DIFF_PROFILE=full) more Corefiles, rounds and queries.
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { getControlPlane, kubeConfigFor, type ControlPlane } from '../cluster/root-hooks.js';
import { freePort } from '../cluster/ports.js';
import { startCoreDnsWith } from '../helpers/coredns.js';
import { dig } from '../helpers/dig.js';
import { eventually } from '../helpers/eventually.js';
import { Kube } from '../helpers/kube.js';
import { rng } from '../helpers/rng.js';
import { applyState, changeState, generateState, removeState, type State } from '../differential/cluster-state.js';
import { compare, describe as describeDifference, type Difference } from '../differential/compare.js';
import { clusterCacheLifetime, KUBEADM, randomVariant, type Variant } from '../differential/corefiles.js';
import { exchangeAll } from '../differential/exchange.js';
import { keptBy } from '../differential/kept-differences.js';
import { type Pair, startPair } from '../differential/pair.js';
import { questions, repeats } from '../differential/queries.js';
import { startUpstreams, type Upstreams } from '../differential/upstream.js';

const FULL = process.env.DIFF_PROFILE === 'full';
const BASE = FULL ? { variants: 5, rounds: 4, queries: 1200, namespaces: 3 } : { variants: 2, rounds: 2, queries: 500, namespaces: 1 };
/** DIFF_VARIANTS, DIFF_ROUNDS, DIFF_QUERIES override the profile (to replay a seed smaller or larger). */
const PROFILE = {
  ...BASE,
  variants: Number(process.env.DIFF_VARIANTS ?? BASE.variants),
  rounds: Number(process.env.DIFF_ROUNDS ?? BASE.rounds),
  queries: Number(process.env.DIFF_QUERIES ?? BASE.queries),
};
const SEED = process.env.DIFF_SEED !== undefined ? Number(process.env.DIFF_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32);
const REPLAY = `DIFF_SEED=${SEED}${FULL ? ' DIFF_PROFILE=full' : ''}`;

describe(`differential against CoreDNS (seed ${SEED}; replay with ${REPLAY})`, function () {
  this.timeout(240_000);
  const random = rng(SEED);
  let cp: ControlPlane;
  let kube: Kube;
  let upstreams: Upstreams | undefined;
  let state: State | undefined;
  const pairs: Pair[] = [];
  let lastQuery = 0;
  const totals = { states: 0, queries: 0, differences: 0, allowed: 0 };
  let t0 = Date.now();

  before(async function () {
    this.timeout(180_000);
    t0 = Date.now();
    console.log(`      differential: seed ${SEED} (replay: ${REPLAY} npx mocha dist/test/integration/differential.test.js)`);
    cp = await getControlPlane();
    kube = new Kube(kubeConfigFor(cp));
    upstreams = await startUpstreams();
    state = generateState(random, `diff-${SEED.toString(36)}`, PROFILE.namespaces);
    await applyState(kube, state);
    const variants: Variant[] = [KUBEADM, ...Array.from({ length: PROFILE.variants }, (_, i) => randomVariant(random, i + 1))];
    for (const v of variants) pairs.push(await startPair(v, cp.kubeconfigPath, upstreams.main.port, upstreams.stub.port));
    for (const p of pairs) console.log(`      Corefile ${p.variant.label}`);
    await sentinel(0);
  });

  after(async function () {
    this.timeout(60_000);
    for (const p of pairs) await p.stop().catch(() => undefined);
    await upstreams?.stop();
    if (state) await removeState(kube, state);
    const secs = Math.round((Date.now() - t0) / 1000);
    console.log(`      differential: seed ${SEED}, ${totals.states} states, ${totals.queries} queries, ${totals.differences} differences (${totals.allowed} allowed by rule), ${pairs.length} Corefiles, ${secs} s`);
  });

  /**
   * A new headless Service with a slice of its own, which every server must answer before the round starts. Each
   * resource's watch delivers in order, and its name exists only once both the Service and the slice are seen, so
   * then both servers have every change made before it.
   */
  async function sentinel(round: number): Promise<void> {
    const ns = state!.namespaces[state!.namespaces.length - 1]!;
    await kube.createService(ns, `sentinel-${round}`, { clusterIP: 'None' });
    await kube.discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: { metadata: { name: `sentinel-${round}`, labels: { 'kubernetes.io/service-name': `sentinel-${round}` } }, addressType: 'IPv4', endpoints: [{ addresses: [`10.250.0.${round + 1}`] }] },
    });
    const name = `sentinel-${round}.${ns}.svc.cluster.local`;
    for (const p of pairs) {
      for (const [who, port] of [[`CoreDNS (${p.variant.label})`, p.coredns.port], [`cluster-dns (${p.variant.label})`, p.ours.port]] as const) {
        // A private-use type each time: NODATA means the name exists, and no poll is answered from CoreDNS's cache.
        let type = 65280 + round * 100;
        await eventually(30_000, `${who} sees ${name} (seed ${SEED})`, async () => (await dig(port, name, `TYPE${type++}`)).status === 'NOERROR', 100);
      }
    }
  }

  for (let round = 0; round < PROFILE.rounds; round++) {
    it(`round ${round + 1} of ${PROFILE.rounds}: every reply as CoreDNS's`, async function () {
      if (round > 0) {
        const changes = await changeState(kube, state!, random, round);
        console.log(`      changes: ${changes.join('; ')}`);
        await sentinel(round);
        // CoreDNS's cache holds cluster answers too; a question asked last round must not be answered from it.
        const lifetime = Math.max(...pairs.map((p) => clusterCacheLifetime(p.variant)));
        const wait = lastQuery + (lifetime + 1.5) * 1000 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const qs = questions(random, state!, PROFILE.queries);
      const started = Date.now();
      const targets = pairs.map((p) => ({ label: `${p.variant.label}, round ${round + 1}`, refPort: p.coredns.port, oursPort: p.ours.port, cache: clusterCacheLifetime(p.variant) > 0 }));
      const first = await exchangeAll(targets, qs);
      // A fifth of the keys again, a second later: cache hits on both sides, TTLs visibly counted down.
      await new Promise((r) => setTimeout(r, 1100));
      const exchanges = [...first, ...(await exchangeAll(targets.map((t) => ({ ...t, label: `${t.label}, again` })), repeats(random, qs, 0.2), started))];
      lastQuery = Date.now();
      const diffs = exchanges.map(compare).filter((d): d is Difference => d !== undefined);
      const kept = diffs.filter((d) => keptBy(d) !== undefined);
      const failing = diffs.filter((d) => keptBy(d) === undefined);
      totals.states++;
      totals.queries += exchanges.length;
      totals.differences += diffs.length;
      totals.allowed += kept.length;
      console.log(`      round ${round + 1}: ${exchanges.length} queries in ${Date.now() - started} ms, ${diffs.length} differences (${kept.length} allowed by rule)`);
      // DIFF_DUMP=FILE: every difference of the run, kept ones too, appended to FILE (the failure shows 25).
      if (process.env.DIFF_DUMP) appendFileSync(process.env.DIFF_DUMP, diffs.map((d) => `${describeDifference(d)}${keptBy(d) ? `\n    (kept: ${keptBy(d)!.id})` : ''}\n`).join(''));
      const shown = failing.slice(0, 25).map(describeDifference).join('\n  ');
      assert.equal(failing.length, 0, `${failing.length} differences from CoreDNS (seed ${SEED}; replay with ${REPLAY}):\n  ${shown}`);
    });
  }
});

describe('differential: a CoreDNS that does not start', function () {
  this.timeout(40_000);
  it('fails with one line naming it', async () => {
    const port = await freePort();
    const err = await startCoreDnsWith(`.:${port} {\n    bind 127.0.0.1\n    no_such_plugin\n}\n`, port, 'CoreDNS (broken Corefile)').then(
      () => assert.fail('a Corefile with an unknown plugin must not start'),
      (e: unknown) => e as Error,
    );
    assert.doesNotMatch(err.message, /\n/);
    assert.match(err.message, /^CoreDNS \(broken Corefile\) did not start .*no_such_plugin/);
  });
});

