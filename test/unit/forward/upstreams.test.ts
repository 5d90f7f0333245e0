// Where forwarded queries go (resolv.conf, the systemd-resolved fallback), and the address grammar of
// --upstream, --stub-domain and the listeners, as tables.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nameserversOf, resolveUpstreams } from '../../../src/forward/upstreams.js';
import { parseListenAddress, parseStubDomain, parseUpstream, stubDomainText } from '../../../src/net/address.js';

const file = (text: string): string => {
  const p = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-resolv-')), 'resolv.conf');
  fs.writeFileSync(p, text);
  return p;
};

describe('forward/upstreams and net/address', () => {
  const UPSTREAMS: Array<[string, { host: string; port: number } | RegExp]> = [
    ['10.0.0.1', { host: '10.0.0.1', port: 53 }],
    ['10.0.0.1:5353', { host: '10.0.0.1', port: 5353 }],
    ['[fd00::1]:53', { host: 'fd00::1', port: 53 }],
    ['fd00::1', { host: 'fd00::1', port: 53 }],
    ['dns.example', /want an IP address/],
    ['10.0.0.1:0', /want an IP address/],
  ];
  for (const [text, want] of UPSTREAMS) {
    it(`--upstream ${text}`, () => (want instanceof RegExp ? assert.throws(() => parseUpstream(text), want) : assert.deepEqual(parseUpstream(text), want)));
  }

  it('stub domains: DOMAIN=ADDR[,ADDR], lower-cased, printed back whole', () => {
    const s = parseStubDomain('Example.Corp.=10.1.2.3,10.1.2.4:5353');
    assert.deepEqual(s, { domain: 'example.corp', upstreams: [{ host: '10.1.2.3', port: 53 }, { host: '10.1.2.4', port: 5353 }] });
    assert.equal(stubDomainText(s), 'example.corp=10.1.2.3:53,10.1.2.4:5353');
    assert.throws(() => parseStubDomain('=10.1.2.3'), /want DOMAIN=ADDR/);
  });

  it('listen addresses: HOST:PORT, [IPv6]:PORT, :PORT', () => {
    assert.deepEqual(parseListenAddress(':53'), { host: '', port: 53 });
    assert.deepEqual(parseListenAddress('[::1]:5353'), { host: '::1', port: 5353 });
    assert.throws(() => parseListenAddress('localhost'), /want HOST:PORT/);
  });

  it('reads nameserver lines, dropping IPv6 zone indexes and non-addresses', () => {
    assert.deepEqual(nameserversOf(file('# x\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bogus\nsearch a b\n')), [
      { host: '10.0.0.2', port: 53 },
      { host: 'fe80::1', port: 53 },
    ]);
  });

  it('explicit upstreams win; loopback-only resolv.conf falls back to systemd-resolved upstreams', () => {
    assert.deepEqual(resolveUpstreams([{ host: '10.0.0.9', port: 53 }], '/nonexistent').upstreams, [{ host: '10.0.0.9', port: 53 }]);
    const r = resolveUpstreams([], file('nameserver 127.0.0.53\n'), file('nameserver 127.0.0.1\nnameserver 192.0.2.53\n'));
    assert.deepEqual(r.upstreams, [{ host: '192.0.2.53', port: 53 }]);
    assert.match(r.note!, /only loopback resolvers/);
    assert.throws(() => resolveUpstreams([], file('search x\n')), /lists no nameserver/);
  });
});
