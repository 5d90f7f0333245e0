// The name grammar of the cluster zone as a table (CoreDNS's parse_test.go): relative name → what it names.
import assert from 'node:assert/strict';
import { indexName, longestFirst, parseName, podLabelToIP, relativeName, zoneOf } from '../../../src/resolve/names.js';

const TABLE: Array<[string, ReturnType<typeof parseName>]> = [
  ['', { kind: 'empty' }],
  ['svc', { kind: 'empty' }],
  ['pod', { kind: 'empty' }],
  ['demo.svc', { kind: 'svc', namespace: 'demo' }],
  ['web.demo.svc', { kind: 'svc', namespace: 'demo', service: 'web' }],
  ['db-0.db.demo.svc', { kind: 'svc', namespace: 'demo', service: 'db', endpoint: 'db-0' }],
  ['_http._tcp.web.demo.svc', { kind: 'svc', namespace: 'demo', service: 'web', port: 'http', protocol: 'tcp' }],
  ['http.tcp.web.demo.svc', { kind: 'svc', namespace: 'demo', service: 'web', port: 'http', protocol: 'tcp' }],
  ['_._tcp.web.demo.svc', { kind: 'svc', namespace: 'demo', service: 'web', port: '', protocol: 'tcp' }],
  ['10-244-1-10.demo.pod', { kind: 'pod', namespace: 'demo', service: '10-244-1-10' }],
  ['a.b.c.web.demo.svc', { kind: 'invalid' }],
  ['web.demo.nope', { kind: 'invalid' }],
  ['dns-version', { kind: 'invalid' }],
];

describe('resolve/names: the name grammar', () => {
  for (const [name, want] of TABLE) {
    it(`${JSON.stringify(name)} → ${want.kind}`, () => assert.deepEqual(parseName(name), want));
  }

  it('pod labels: three single dashes are IPv4, anything else IPv6', () => {
    assert.equal(podLabelToIP('10-244-1-10'), '10.244.1.10');
    assert.equal(podLabelToIP('fd00--1'), 'fd00::1');
    assert.equal(podLabelToIP('fd00-10-244-1--30'), 'fd00:10:244:1::30');
  });

  it('index names drop the optional underscores of port and protocol only', () => {
    assert.equal(indexName('_http._tcp.web.demo.svc'), 'http.tcp.web.demo.svc');
    assert.equal(indexName('http.tcp.web.demo.svc'), 'http.tcp.web.demo.svc');
    assert.equal(indexName('_web.demo.svc'), '_web.demo.svc');
  });

  it('zones: the longest suffix wins; the apex is the empty relative name', () => {
    const zones = longestFirst(['in-addr.arpa', '10.in-addr.arpa', 'cluster.local', 'cluster.local']);
    assert.deepEqual(zones, ['10.in-addr.arpa', 'cluster.local', 'in-addr.arpa']);
    assert.equal(zoneOf('1.0.0.10.in-addr.arpa', zones), '10.in-addr.arpa');
    assert.equal(zoneOf('web.demo.svc.cluster.local', zones), 'cluster.local');
    assert.equal(zoneOf('xcluster.local', zones), undefined);
    assert.equal(relativeName('cluster.local', 'cluster.local'), '');
    assert.equal(relativeName('web.demo.svc.cluster.local', 'cluster.local'), 'web.demo.svc');
  });
});
