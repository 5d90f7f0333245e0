// The memory model of docs/benchmarks.md, measured: the serving structures built in this process from the
// bench's generated cluster (no API server), with a full collection before each reading, so each figure is the
// live JavaScript heap plus Buffer memory an addition costs. Run: `node --expose-gc dist/bench/memory-model.js
// [--services N] [--pods N] [--json FILE]`. What it cannot see (the process's fixed cost, V8's committed-but-free
// heap) comes from the RSS of the real server, measured by the bench.
import { writeFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { parseArgs } from 'node:util';
import { ClusterState } from '../src/cluster/state.js';
import { decodeQuery } from '../src/dns/decode.js';
import { nameToWire } from '../src/dns/encode-query.js';
import { ReplayCache, replayQuestion, replayableForGeneration } from '../src/dns/replay.js';
import type { Reply } from '../src/dns/message.js';
import type { ApiObject } from '../src/kube/convert.js';
import { ZoneIndex } from '../src/records/zone-index.js';
import { ClusterHandler } from '../src/resolve/cluster.js';
import { addressRotations } from '../src/resolve/loadbalance.js';
import { applyObject } from '../src/sources/apply.js';
import { describeService, type GenService, namespaceOf, serviceBody, sliceBody } from './generate.js';
import { buildQueryFiles } from './queries.js';

const { values } = parseArgs({ options: { services: { type: 'string', default: '10000' }, pods: { type: 'string' }, lines: { type: 'string', default: '50000' }, json: { type: 'string' }, snapshot: { type: 'string' }, 'hit-rates': { type: 'boolean', default: false } } });
const services = Number(values.services);
const pods = Number(values.pods ?? values.services);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function used(): number {
  for (let i = 0; i < 3; i++) gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const TYPES: Record<string, number> = { A: 1, AAAA: 28, SRV: 33, PTR: 12 };
function queryPacket(name: string, type: number, id: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(0x0100, 2); // RD, as dnsperf sends
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, nameToWire(name), tail]);
}

const rows: Array<{ what: string; count: number; bytes: number; perItem: number }> = [];
const step = (what: string, count: number, before: number): number => {
  const after = used();
  rows.push({ what, count, bytes: after - before, perItem: (after - before) / count });
  return after;
};

const state = new ClusterState();
const index = new ZoneIndex(state, { endpointPodNames: false, ignoreEmptyService: false });
const gen: GenService[] = Array.from({ length: services }, (_, i) => describeService(i));
for (const s of gen) if (!s.headless) s.clusterIP = `10.${96 + (s.i >> 16)}.${(s.i >> 8) & 255}.${s.i & 255}`;
let at = used();
const base = at;

const namespaces = [...new Set(gen.map((s) => s.namespace))];
for (const ns of namespaces) applyObject(state, 'Namespace', { metadata: { name: ns } } as ApiObject);
at = step('namespace', namespaces.length, at);

for (const s of gen) {
  const body = serviceBody(s.name, s.headless ? 'None' : s.clusterIP) as ApiObject;
  body.metadata = { ...body.metadata, namespace: s.namespace };
  applyObject(state, 'Service', body);
}
at = step('Service (a tenth headless), records without endpoints', services, at);

let endpoints = 0;
for (const s of gen) {
  const body = sliceBody(s.name, s.sliceName, s.endpoints) as ApiObject;
  body.metadata = { ...body.metadata, namespace: s.namespace };
  applyObject(state, 'EndpointSlice', body);
  endpoints += s.endpoints.length;
}
at = step('endpoint (ready, in one EndpointSlice per Service), with its records', endpoints, at);

for (let i = 0; i < pods; i++) {
  applyObject(state, 'Pod', { metadata: { name: `pod-${i}`, namespace: namespaceOf(i % services) }, status: { phase: 'Running', podIP: `10.${128 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}` } } as ApiObject);
}
at = step('pod (--pods verified)', pods, at);

const handler = new ClusterHandler(index, { zones: ['cluster.local'], ttl: 30, pods: 'verified', localIPs: [], synced: () => true, fallthrough: [] });
const cache = new ReplayCache(Number.MAX_SAFE_INTEGER, Date.now, Number.MAX_SAFE_INTEGER);
const questions = (): string[] => buildQueryFiles(gen, Number(values.lines)).cluster;
/** Answers every distinct question once and keeps what the server would replay; returns how many were distinct. */
function fill(): { distinct: number; stored: number } {
  const distinct = [...new Set(questions())];
  let stored = 0;
  for (const [k, line] of distinct.entries()) {
    const [name, type] = line.split(' ') as [string, string];
    const packet = queryPacket(name, TYPES[type]!, k);
    const q = replayQuestion(packet);
    const d = decodeQuery(packet);
    if (!q || d.kind !== 'query') continue;
    const reply = handler.handle(d.query, { address: '127.0.0.1', family: 4, port: 0 } as never) as Reply;
    if (typeof reply !== 'object' || reply instanceof Promise || !replayableForGeneration(reply)) continue;
    cache.remember(d.query, q, addressRotations(reply), undefined, index.generation);
    stored++;
  }
  return { distinct: distinct.length, stored };
}
const { distinct, stored } = fill();
at = step(`cached answer (the bench's cluster questions, ${cache.size} stored, ${(cache.bytes / 1048576).toFixed(1)} MiB counted)`, Math.max(1, cache.size), at);
// The same answers without the replay entries: what the entries hold themselves, the rest being the names' answer memos.
const withCache = at;
(cache as unknown as { clear(generation: number): void }).clear(-2);
const cacheOnly = withCache - used();
rows.push({ what: '  of which the replay entry itself (key, entry, its share of a slab)', count: Math.max(1, stored), bytes: cacheOnly, perItem: cacheOnly / Math.max(1, stored) });

// Hit rates of the replay cache by its entry bound, on the bench's cluster questions in file order, three passes
// (the first fills it): what the bound buys on this workload, where every name is asked equally often.
const hitRates: Array<{ maxEntries: number; hitRate: number }> = [];
const lines = values['hit-rates'] ? questions() : [];
const packets = lines.map((line, k) => {
  const [name, type] = line.split(' ') as [string, string];
  return queryPacket(name, TYPES[type]!, k);
});
for (const maxEntries of values['hit-rates'] ? [1000, 5000, 10_000, 25_000, 50_000] : []) {
  const sim = new ReplayCache(maxEntries, Date.now, Number.MAX_SAFE_INTEGER);
  let hits = 0;
  let asked = 0;
  for (let pass = 0; pass < 3; pass++) {
    for (const packet of packets) {
      const q = replayQuestion(packet)!;
      const hit = sim.hit(packet, q, 0, false);
      if (pass > 0) asked++;
      if (hit) {
        if (pass > 0) hits++;
        continue;
      }
      const d = decodeQuery(packet);
      if (d.kind !== 'query') continue;
      const reply = handler.handle(d.query, { address: '127.0.0.1', family: 4, port: 0 } as never) as Reply;
      if (typeof reply === 'object' && !(reply instanceof Promise) && replayableForGeneration(reply)) sim.remember(d.query, q, addressRotations(reply), undefined, 0);
    }
  }
  hitRates.push({ maxEntries, hitRate: hits / asked });
}

const total = at - base;
if (values.snapshot) writeHeapSnapshot(values.snapshot); // everything above, for a breakdown by object kind
const report = { hitRates, distinctQuestions: distinct, services, endpoints, namespaces: namespaces.length, pods, names: index.recordCount(), answers: cache.size, stored, countedCacheBytes: cache.bytes, totalBytes: total, rows };
process.stdout.write(`memory model: ${services} Services, ${endpoints} endpoints, ${namespaces.length} namespaces, ${pods} pods, ${index.recordCount()} names (heap + external after a full GC; ${(total / 1048576).toFixed(1)} MiB in all)\n\n`);
process.stdout.write(`${'what'.padEnd(92)} ${'count'.padStart(7)} ${'MiB'.padStart(7)} ${'bytes each'.padStart(10)}\n`);
for (const r of rows) process.stdout.write(`${r.what.padEnd(92)} ${String(r.count).padStart(7)} ${(r.bytes / 1048576).toFixed(1).padStart(7)} ${r.perItem.toFixed(0).padStart(10)}\n`);
if (values['hit-rates']) process.stdout.write(`\nreplay cache hit rate on the bench's ${lines.length} cluster questions (${distinct} distinct), passes 2 and 3: ${hitRates.map((h) => `${h.maxEntries} entries ${(h.hitRate * 100).toFixed(1)}%`).join(', ')}\n`);
if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
