// `npm run bench -- --smoke` in-process: a tiny generated cluster, 1 s dnsperf runs against NSD, cluster-dns and
// CoreDNS. It checks that the bench still runs end to end and prints every row with numbers in it; it asserts
// no timing at all (a benchmark is not a test, and this machine is shared).
import assert from 'node:assert/strict';
import { parseOptions } from '../../bench/options.js';
import { type BenchResult, formatReport } from '../../bench/report.js';
import { runBench } from '../../bench/run.js';

const NUMBER = /^\d+(\.\d+)?x?$/;

/** The cells of the table row whose first four cells (size, set, proto, server) are these. */
function row(report: string, key: string[]): string[] {
  const line = report.split('\n').find((l) => {
    const cells = l.trim().split(/\s{2,}/);
    return key.every((k, i) => cells[i] === k);
  });
  assert.ok(line !== undefined, `a row ${key.join(' ')} in\n${report}`);
  return line.trim().split(/\s{2,}/);
}

describe('bench smoke run (npm run bench -- --smoke)', function () {
  let result: BenchResult;
  let report: string;

  before(async function () {
    this.timeout(180_000);
    result = await runBench(parseOptions(['--smoke']), () => undefined, 'npm run bench -- --smoke');
    report = formatReport(result);
  });

  it('prints a throughput row with numbers for every server, query set and protocol, and the ratio rows', () => {
    const size = String(parseOptions(['--smoke']).sizes[0]);
    const expected: string[][] = [['demo', 'demo', 'udp', 'nsd'], ['demo', 'demo', 'udp', 'cluster-dns']];
    for (const proto of ['udp', 'tcp']) {
      for (const set of ['cluster', 'outside', 'mix']) {
        for (const server of ['cluster-dns', 'coredns', ...(set === 'cluster' ? ['nsd'] : [])]) expected.push([size, set, proto, server]);
      }
    }
    for (const key of expected) {
      const cells = row(report, key);
      // QPS, p50, p99, lost, peak RSS, CPU per query, other load
      for (const cell of cells.slice(4, 11)) assert.match(cell, NUMBER, `${key.join(' ')}: ${cells.join(' | ')}`);
      assert.ok(Number(cells[4]) > 0, `${key.join(' ')} answered queries`);
    }
    const ratios: string[][] = [['demo', 'demo', 'udp', 'cluster-dns/nsd']];
    for (const proto of ['udp', 'tcp']) {
      ratios.push([size, 'cluster', proto, 'cluster-dns/nsd']);
      for (const set of ['cluster', 'outside', 'mix']) ratios.push([size, set, proto, 'cluster-dns/coredns']);
    }
    for (const key of ratios) {
      const cells = row(report, key);
      for (const cell of cells.slice(4, 7)) assert.match(cell, /^\d+\.\d\dx$/, `${key.join(' ')}: ${cells.join(' | ')}`);
    }
  });

  it('prints time to ready, RSS and propagation for cluster-dns and CoreDNS', () => {
    const size = String(result.options.sizes[0]);
    for (const server of ['cluster-dns', 'coredns', 'cluster-dns/coredns']) {
      const line = report.split('\n').find((l) => l.trim().split(/\s{2,}/).slice(0, 2).join(' ') === `${size} ${server}`);
      assert.ok(line !== undefined, `lifecycle row ${server}`);
      const cells = line.trim().split(/\s{2,}/);
      assert.equal(cells.length, 10, line); // size, server, ready, RSS at ready, RSS 3 s later, peak, 4 propagation
      for (const cell of cells.slice(2)) assert.match(cell, NUMBER, `${server}: ${line}`);
    }
    for (const p of result.propagation) {
      assert.equal(p.n + p.missed, result.options.changes, `${p.server} ${p.kind}`);
      assert.ok(p.n > 0, `${p.server} ${p.kind}: some changes seen`);
    }
  });

  it('judges every target of the issue, MET or MISSED, and the servers agree on every answer', () => {
    for (const goal of ['QPS >= 1.2x CoreDNS, cluster names', 'QPS >= 1.2x CoreDNS, cache hits', 'p99 <= CoreDNS', 'RSS <= CoreDNS at 10k Services (peak)', 'RSS <= CoreDNS at 10k Services (3 s after ready)',
      'time to ready <= CoreDNS', 'propagation p99 <= 100 ms', 'QPS >= 0.4x NSD (UDP)']) {
      assert.ok(result.targets.some((t) => t.goal === goal), `target ${goal}`);
    }
    assert.match(report, /^Targets/m);
    const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    for (const t of result.targets) assert.match(report, new RegExp(`${escape(t.goal)} +${escape(t.where)} .* ${t.met ? 'MET' : 'MISSED'}\n`));
    // Same query file, same rcodes: a server that answered differently would make the comparison meaningless.
    assert.deepEqual(result.warnings.filter((w) => w.includes('rcodes differ') || w.includes('SERVFAIL')), []);
    assert.match(report, /machine: \d+ CPUs/);
  });
});
