// The differential suite's comparison and allow-list (test/differential): what counts as a difference, and that
// the kept ones are matched by rule, not by name.
import assert from 'node:assert/strict';
import { compare, type Exchange } from '../../differential/compare.js';
import { keptBy } from '../../differential/kept-differences.js';
import { decodeMessage, encodeQuestion, type Message, type Question } from '../../differential/wire.js';

const q = (over: Partial<Question> = {}): Question => ({ name: 'web.ns.svc.cluster.local', type: 1, id: 7, rd: true, cd: false, tcp: false, ...over });
const msg = (over: Partial<Message> = {}): Message => ({ id: 7, rcode: 0, flags: ['qr', 'aa', 'rd'], question: ['web.ns.svc.cluster.local. IN A'], answer: [], authority: [], additional: [], ...over });
const ex = (ref: Message | undefined, ours: Message | undefined, question = q(), bytes: [number, number] = [100, 100]): Exchange => ({ label: 't', question, ref, ours, refBytes: bytes[0], oursBytes: bytes[1], cache: true });

describe('differential comparison', () => {
  it('a missing reply from either server is a difference, never a pass', () => {
    assert.deepEqual(compare(ex(undefined, msg()))?.fields, ['no reply']);
    assert.deepEqual(compare(ex(msg(), undefined))?.fields, ['no reply']);
  });

  it('TTLs are exact in the cluster zone, within 1 s outside it; SOA serials are masked', () => {
    const a = (ttl: number, owner = 'web.ns.svc.cluster.local.'): string => `${owner} ${ttl} IN A 10.0.0.1`;
    assert.deepEqual(compare(ex(msg({ answer: [a(30)] }), msg({ answer: [a(29)] })))?.fields, ['answer.ttl']);
    assert.equal(compare(ex(msg({ answer: [a(30, 'www.example.test.')] }), msg({ answer: [a(29, 'www.example.test.')] }))), undefined);
    const soa = (serial: number): string => `cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${serial} 7200 1800 86400 30`;
    assert.equal(compare(ex(msg({ authority: [soa(1)] }), msg({ authority: [soa(2)] }))), undefined);
  });

  it('sections are multisets; flags, rcode and the OPT record are compared field by field', () => {
    const lines = ['x. 5 IN A 10.0.0.1', 'x. 5 IN A 10.0.0.2'];
    assert.equal(compare(ex(msg({ answer: lines }), msg({ answer: [...lines].reverse() }))), undefined);
    const opt = { size: 1232, do: false, version: 0, extendedRcode: 0, options: [] };
    assert.deepEqual(compare(ex(msg({ opt }), msg({ opt: { ...opt, size: 4096, options: ['ede:20:'] } })))?.fields, ['opt.size', 'opt.options']);
    assert.deepEqual(compare(ex(msg(), msg({ flags: ['qr', 'rd'], rcode: 3 })))?.fields, ['rcode', 'flags']);
  });

  it('kept differences match by what differs, not by the name asked', () => {
    const full = msg({ answer: ['x. 5 IN A 10.0.0.1'] });
    const cut = msg({ flags: ['qr', 'aa', 'tc', 'rd'] });
    const big = q({ edns: { size: 4096, do: false } });
    assert.equal(keptBy(compare(ex(full, cut, big, [2000, 900]))!)?.id, 'udp-1232');
    assert.equal(keptBy(compare(ex(full, cut, q({ edns: { size: 1232, do: false } }), [2000, 900]))!), undefined, 'a client asking 1232 must get what CoreDNS sends');
    assert.equal(keptBy(compare(ex(full, cut, { ...big, tcp: true }, [2000, 900]))!), undefined, 'never over TCP');
    const owner = (o: string): Message => msg({ answer: [`${o} 30 IN A 192.0.2.10`] });
    assert.equal(keptBy(compare(ex(owner('WWW.example.test.'), owner('www.example.test.')))!)?.id, 'cache-owner-case');
    assert.equal(keptBy(compare(ex(owner('Web.ns.svc.cluster.local.'), owner('web.ns.svc.cluster.local.')))!), undefined, 'cluster owners must match exactly');
  });

  it('the wire code reads back what it wrote (question, EDNS, DO, CD, RD)', () => {
    const m = decodeMessage(encodeQuestion(q({ name: 'WeB.x', type: 65280, rd: false, cd: true, edns: { size: 512, do: true } })));
    assert.deepEqual(m.question, ['WeB.x. IN TYPE65280']);
    assert.deepEqual(m.flags, ['cd']);
    assert.deepEqual(m.opt, { size: 512, do: true, version: 0, extendedRcode: 0, options: [] });
  });
});
