// IP helpers as tables: canonical text, reverse names both ways, CoreDNS's dashed endpoint names.
import assert from 'node:assert/strict';
import { addressFromReverse, dashedIP, parseIP, reverseName, canonicalIP } from '../../../src/net/ip.js';

describe('net/ip', () => {
  const PARSE: Array<[string, string | undefined, 4 | 6 | undefined]> = [
    ['10.96.0.1', '10.96.0.1', 4],
    ['FD00:0:0::1', 'fd00::1', 6],
    ['::ffff:10.0.0.1', '10.0.0.1', 4],
    ['10.96.0', undefined, undefined],
    ['010.1.1.1', undefined, undefined],
    ['example.com', undefined, undefined],
  ];
  for (const [text, canonical, family] of PARSE) {
    it(`parses ${text}`, () => {
      const ip = parseIP(text);
      assert.equal(ip?.text, canonical);
      assert.equal(ip?.family, family);
    });
  }

  it('reverse names, and back', () => {
    assert.equal(reverseName(parseIP('10.96.0.10')!), '10.0.96.10.in-addr.arpa');
    assert.equal(addressFromReverse('10.0.96.10', 4), '10.96.0.10');
    const v6 = reverseName(parseIP('fd00::20')!);
    assert.match(v6, /^0\.2\.0\.0\.(0\.){24}0\.0\.d\.f\.ip6\.arpa$/);
    assert.equal(addressFromReverse(v6.replace(/\.ip6\.arpa$/, ''), 6), 'fd00::20');
  });

  it('partial reverse names are not addresses', () => {
    assert.equal(addressFromReverse('96.10', 4), undefined);
    assert.equal(addressFromReverse('0.2.0', 6), undefined);
  });

  it('dashed endpoint names (CoreDNS), a trailing dash gets a 0', () => {
    assert.equal(dashedIP('10.244.1.10'), '10-244-1-10');
    assert.equal(dashedIP('fd00:10:244:1::'), 'fd00-10-244-1--0');
  });

  it('canonicalIP: the canonical text without the bytes; a dotted quad comes back as the same string', () => {
    const quad = ['10', '1', '2', '3'].join('.');
    assert.equal(canonicalIP(quad), quad);
    assert.equal(canonicalIP('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(canonicalIP('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(canonicalIP('010.1.2.3'), undefined);
    assert.equal(canonicalIP('nope'), undefined);
  });
});
