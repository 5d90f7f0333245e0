// The plain cells the hot path counts in, and the query log's line.
import assert from 'node:assert/strict';
import type { Logger } from '../../../src/base/log.js';
import { decodeQuery } from '../../../src/dns/decode.js';
import type { Query } from '../../../src/dns/message.js';
import { LabeledCounter, PlainHistogram, exponentialBuckets } from '../../../src/ops/counters.js';
import { queryLog } from '../../../src/ops/query-log.js';
import { buildQuery } from '../../helpers/dns-client.js';

describe('ops/counters and the query log', () => {
  it('labelled counters keep one cell per label set', () => {
    const c = new LabeledCounter(['a', 'b']);
    c.cell(['x', 'y']).n += 2;
    c.cell(['x', 'y']).n++;
    c.cell(['x', 'z']).n++;
    assert.deepEqual([...c.entries()], [[{ a: 'x', b: 'y' }, 3], [{ a: 'x', b: 'z' }, 1]]);
  });

  it('histograms count into the first bucket that holds the value, with sum and count', () => {
    assert.deepEqual(exponentialBuckets(1, 2, 4), [1, 2, 4, 8]);
    const h = new PlainHistogram(['k'], [1, 2, 4]);
    for (const v of [0.5, 1, 3, 100]) h.observe(['x'], v);
    const entries = [...h.entries()] as Array<[Record<string, string>, { counts: number[]; sum: number; count: number }]>;
    assert.equal(entries.length, 1);
    const [labels, s] = entries[0]!;
    assert.deepEqual(labels, { k: 'x' });
    assert.deepEqual(s.counts.slice(0, 3), [2, 0, 1]);
    assert.equal(s.count, 4);
    assert.equal(s.sum, 104.5);
  });

  it('the query log writes one line per decoded query with client, name, type and rcode', () => {
    const lines: Array<[string, Record<string, unknown>]> = [];
    const log = { info: (msg: string, f: Record<string, unknown>) => lines.push([msg, f]) } as unknown as Logger;
    const packet = buildQuery('Web.example', 28, {});
    const query = (decodeQuery(packet) as { query: Query }).query;
    queryLog(log)({ kind: 'answered', query, reply: { rcode: 3, authoritative: true, answer: [], authority: [], additional: [] }, proto: 'tcp', client: { address: '10.0.0.9', family: 4 }, started: process.hrtime.bigint(), requestSize: packet.length, size: 80 });
    assert.equal(lines.length, 1);
    const [msg, f] = lines[0]!;
    assert.equal(msg, 'query');
    assert.deepEqual({ ...f, durationMs: 0 }, { client: '10.0.0.9', proto: 'tcp', name: 'Web.example', type: 'AAAA', rcode: 'NXDOMAIN', size: 80, durationMs: 0 });
  });
});
