// The record builder on its own, as a table: one Service and its EndpointSlices → the names it owns (with the
// addresses and SRV targets each answers) and its reverse entries.
import assert from 'node:assert/strict';
import type { EndpointSliceInfo, PortInfo, ServiceInfo } from '../../../src/cluster/objects.js';
import { answersOf, buildServiceRecords } from '../../../src/records/build.js';

const http: PortInfo = { name: 'http', protocol: 'tcp', port: 80 };
const svc = (over: Partial<ServiceInfo>): ServiceInfo => ({ namespace: 'demo', name: 'web', kind: 'ClusterIP', clusterIPs: ['10.96.0.20'], headless: false, rawClusterIP: '10.96.0.20', externalName: undefined, ports: [http], ...over });
const slice = (endpoints: EndpointSliceInfo['endpoints'], ports: PortInfo[] = [{ ...http, port: 8080 }]): EndpointSliceInfo => ({ namespace: 'demo', name: 'web-1', serviceName: 'web', ports, endpoints, lastChangeTriggerTime: undefined });
const OPTS = { endpointPodNames: false, ignoreEmptyService: false };

/** name → "a:…, srv:port target" lines, for readable expectations. */
function view(s: ServiceInfo | undefined, slices: EndpointSliceInfo[], opts = OPTS): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, node] of buildServiceRecords(s, slices, opts).names) {
    if (node.cname !== undefined) out[name] = `cname ${node.cname}`;
    else {
      const a = answersOf(node);
      out[name] = [...a.a, ...a.aaaa, ...a.srv.map((x) => `srv ${x.port} ${x.target}`)].join(', ');
    }
  }
  return out;
}

describe('records/build', () => {
  it('ClusterIP: the bare name answers the cluster IP and one SRV per port; endpoints get names of their own', () => {
    assert.deepEqual(view(svc({}), [slice([{ addresses: ['10.244.1.5'], hostname: undefined, podName: 'web-abc' }])]), {
      'web.demo.svc': '10.96.0.20, srv 80 web.demo.svc',
      '10-244-1-5.web.demo.svc': '10.244.1.5, srv 8080 10-244-1-5.web.demo.svc',
      'http.tcp.web.demo.svc': '10.96.0.20, srv 80 web.demo.svc',
    });
  });

  it('dual-stack ClusterIP: both addresses, one SRV per port (the targets are the same name)', () => {
    assert.equal(view(svc({ clusterIPs: ['10.96.0.20', 'fd00::20'] }), [])['web.demo.svc'], '10.96.0.20, fd00::20, srv 80 web.demo.svc');
  });

  it('headless: the ready endpoint addresses, hostnames kept, the slice port for SRV', () => {
    const v = view(svc({ headless: true, clusterIPs: [], rawClusterIP: 'None' }), [slice([{ addresses: ['10.244.1.5'], hostname: 'db-0', podName: undefined }, { addresses: ['10.244.2.6'], hostname: undefined, podName: 'web-x' }])]);
    assert.equal(v['web.demo.svc'], '10.244.1.5, 10.244.2.6, srv 8080 db-0.web.demo.svc, srv 8080 10-244-2-6.web.demo.svc');
    assert.equal(v['db-0.web.demo.svc'], '10.244.1.5, srv 8080 db-0.web.demo.svc');
  });

  it('--endpoint-pod-names: an endpoint without a hostname is named after its pod', () => {
    const v = view(svc({ headless: true, clusterIPs: [] }), [slice([{ addresses: ['10.244.2.6'], hostname: undefined, podName: 'web-x' }])], { ...OPTS, endpointPodNames: true });
    assert.ok('web-x.web.demo.svc' in v);
  });

  it('headless with no ready endpoint: no name at all (NXDOMAIN)', () => {
    assert.deepEqual(view(svc({ headless: true, clusterIPs: [] }), [slice([])]), {});
  });

  it('--ignore-empty-service: a ClusterIP service without endpoints owns no name, but keeps its PTR', () => {
    const r = buildServiceRecords(svc({}), [], { ...OPTS, ignoreEmptyService: true });
    assert.deepEqual(r.names, []);
    assert.deepEqual(r.clusterIPs, [{ ip: '10.96.0.20', target: 'web.demo.svc' }]);
  });

  it('ExternalName: a CNAME, unless the target is an IP address', () => {
    assert.deepEqual(view(svc({ kind: 'ExternalName', clusterIPs: [], externalName: 'example.com' }), []), { 'web.demo.svc': 'cname example.com' });
    assert.deepEqual(view(svc({ kind: 'ExternalName', clusterIPs: [], externalName: '1.2.3.4' }), []), {});
  });

  it('reverse entries: cluster IPs point at the service, endpoint addresses at their endpoint names', () => {
    const r = buildServiceRecords(svc({}), [slice([{ addresses: ['10.244.1.5'], hostname: 'a', podName: undefined }])], OPTS);
    assert.deepEqual(r.clusterIPs, [{ ip: '10.96.0.20', target: 'web.demo.svc' }]);
    assert.deepEqual(r.endpoints, [{ ip: '10.244.1.5', target: 'a.web.demo.svc' }]);
  });
});
