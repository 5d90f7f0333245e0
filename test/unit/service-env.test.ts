// The kubelet's service variables, as tables: names, values, order within a service, which services a pod gets,
// IPv6, UDP/SCTP, unnamed and multiple ports, digit-leading and dashed names, enableServiceLinks: false and a
// namespace-local `kubernetes` service. Expectations are the kubelet's rules (docs/webhook.md, Kubernetes
// v1.35.4 envvars.go / kubelet_pods.go); test/integration/kubelet-envvars.test.ts checks the same rules against
// the kubelet's own code.
import assert from 'node:assert/strict';
import { type ApiObject, toService } from '../../src/kube/convert.js';
import type { ServiceInfo } from '../../src/cluster/objects.js';
import { envBytes, envVarName, serviceEnv, serviceVars, servicesForPod } from '../../src/env/service-env.js';

function svc(namespace: string, name: string, spec: Record<string, unknown>): ServiceInfo {
  return toService({ apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec } as ApiObject);
}

const lines = (vars: Array<{ name: string; value: string }>): string[] => vars.map((v) => `${v.name}=${v.value}`);

const KUBERNETES = svc('default', 'kubernetes', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] });

describe('service variables: one service (envvars.FromServices)', () => {
  const cases: Array<[string, ServiceInfo, string[]]> = [
    [
      'one named TCP port: HOST, PORT, PORT_<NAME>, then the Docker-link block',
      KUBERNETES,
      [
        'KUBERNETES_SERVICE_HOST=10.96.0.1',
        'KUBERNETES_SERVICE_PORT=443',
        'KUBERNETES_SERVICE_PORT_HTTPS=443',
        'KUBERNETES_PORT=tcp://10.96.0.1:443',
        'KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443',
        'KUBERNETES_PORT_443_TCP_PROTO=tcp',
        'KUBERNETES_PORT_443_TCP_PORT=443',
        'KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1',
      ],
    ],
    [
      'an unnamed port has no _SERVICE_PORT_<NAME>; the port is `port`, never targetPort or nodePort',
      svc('ns', 'kubia', { type: 'NodePort', clusterIP: '10.111.249.153', ports: [{ port: 80, targetPort: 8080, nodePort: 30123 }] }),
      [
        'KUBIA_SERVICE_HOST=10.111.249.153',
        'KUBIA_SERVICE_PORT=80',
        'KUBIA_PORT=tcp://10.111.249.153:80',
        'KUBIA_PORT_80_TCP=tcp://10.111.249.153:80',
        'KUBIA_PORT_80_TCP_PROTO=tcp',
        'KUBIA_PORT_80_TCP_PORT=80',
        'KUBIA_PORT_80_TCP_ADDR=10.111.249.153',
      ],
    ],
    [
      'IPv6: the address raw (upper case kept, not canonicalised) and bracketed only inside URLs',
      svc('ns', 'v6', { clusterIP: '2001:DB8::0A', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
      [
        'V6_SERVICE_HOST=2001:DB8::0A',
        'V6_SERVICE_PORT=53',
        'V6_SERVICE_PORT_DNS=53',
        'V6_PORT=udp://[2001:DB8::0A]:53',
        'V6_PORT_53_UDP=udp://[2001:DB8::0A]:53',
        'V6_PORT_53_UDP_PROTO=udp',
        'V6_PORT_53_UDP_PORT=53',
        'V6_PORT_53_UDP_ADDR=2001:DB8::0A',
      ],
    ],
    [
      'several ports, UDP and SCTP: first port for _SERVICE_PORT and _PORT, every port its own block in spec order',
      svc('ns', 'multi', {
        type: 'LoadBalancer',
        clusterIP: '10.0.0.7',
        ports: [
          { name: 'sctp-x', port: 7777, protocol: 'SCTP' },
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'http', port: 80 },
        ],
      }),
      [
        'MULTI_SERVICE_HOST=10.0.0.7',
        'MULTI_SERVICE_PORT=7777',
        'MULTI_SERVICE_PORT_SCTP_X=7777',
        'MULTI_SERVICE_PORT_DNS=53',
        'MULTI_SERVICE_PORT_HTTP=80',
        'MULTI_PORT=sctp://10.0.0.7:7777',
        'MULTI_PORT_7777_SCTP=sctp://10.0.0.7:7777',
        'MULTI_PORT_7777_SCTP_PROTO=sctp',
        'MULTI_PORT_7777_SCTP_PORT=7777',
        'MULTI_PORT_7777_SCTP_ADDR=10.0.0.7',
        'MULTI_PORT_53_UDP=udp://10.0.0.7:53',
        'MULTI_PORT_53_UDP_PROTO=udp',
        'MULTI_PORT_53_UDP_PORT=53',
        'MULTI_PORT_53_UDP_ADDR=10.0.0.7',
        'MULTI_PORT_80_TCP=tcp://10.0.0.7:80',
        'MULTI_PORT_80_TCP_PROTO=tcp',
        'MULTI_PORT_80_TCP_PORT=80',
        'MULTI_PORT_80_TCP_ADDR=10.0.0.7',
      ],
    ],
    [
      'dashed and digit-leading names: `-` becomes `_`, no prefix for a leading digit (a --manifests service)',
      svc('ns', '3scale-api', { clusterIP: '10.0.0.8', ports: [{ name: 'grpc-web', port: 8080 }, { name: '9p', port: 564 }] }),
      [
        '3SCALE_API_SERVICE_HOST=10.0.0.8',
        '3SCALE_API_SERVICE_PORT=8080',
        '3SCALE_API_SERVICE_PORT_GRPC_WEB=8080',
        '3SCALE_API_SERVICE_PORT_9P=564',
        '3SCALE_API_PORT=tcp://10.0.0.8:8080',
        '3SCALE_API_PORT_8080_TCP=tcp://10.0.0.8:8080',
        '3SCALE_API_PORT_8080_TCP_PROTO=tcp',
        '3SCALE_API_PORT_8080_TCP_PORT=8080',
        '3SCALE_API_PORT_8080_TCP_ADDR=10.0.0.8',
        '3SCALE_API_PORT_564_TCP=tcp://10.0.0.8:564',
        '3SCALE_API_PORT_564_TCP_PROTO=tcp',
        '3SCALE_API_PORT_564_TCP_PORT=564',
        '3SCALE_API_PORT_564_TCP_ADDR=10.0.0.8',
      ],
    ],
    [
      'dual-stack: only spec.clusterIP, the primary family',
      svc('ns', 'dual', { clusterIP: 'fd00::5', clusterIPs: ['fd00::5', '10.0.0.5'], ipFamilies: ['IPv6', 'IPv4'], ports: [{ port: 443 }] }),
      ['DUAL_SERVICE_HOST=fd00::5', 'DUAL_SERVICE_PORT=443', 'DUAL_PORT=tcp://[fd00::5]:443', 'DUAL_PORT_443_TCP=tcp://[fd00::5]:443', 'DUAL_PORT_443_TCP_PROTO=tcp', 'DUAL_PORT_443_TCP_PORT=443', 'DUAL_PORT_443_TCP_ADDR=fd00::5'],
    ],
    ['headless: none', svc('ns', 'h', { clusterIP: 'None', ports: [{ port: 80 }] }), []],
    ['ExternalName: none', svc('ns', 'x', { type: 'ExternalName', externalName: 'example.com', ports: [{ port: 80 }] }), []],
    ['no cluster IP allocated yet: none', svc('ns', 'p', { ports: [{ port: 80 }] }), []],
    ['a cluster IP but no ports (only possible in --manifests): none', svc('ns', 'np', { clusterIP: '10.0.0.9' }), []],
  ];
  for (const [what, service, expected] of cases) {
    it(what, () => assert.deepEqual(lines(serviceVars(service)), expected));
  }

  it('k ports of which m are named make 3 + m + 4k variables', () => {
    const ports = [{ port: 1 }, { name: 'b', port: 2 }, { name: 'c', port: 3, protocol: 'UDP' }, { name: 'd', port: 4, protocol: 'SCTP' }];
    assert.equal(serviceVars(svc('ns', 's', { clusterIP: '10.0.0.1', ports })).length, 3 + 3 + 4 * 4);
  });

  it('names: `-` to `_` and upper case one code point at a time, as Go strings.ToUpper', () => {
    assert.equal(envVarName('my-svc-2'), 'MY_SVC_2');
    assert.equal(envVarName('straße'), 'STRAßE'); // JavaScript's toUpperCase would make STRASSE
    assert.equal(envVarName('é'), 'É');
  });
});

describe('service variables: which services a pod gets (getServiceEnvVarMap)', () => {
  const cluster = [
    KUBERNETES,
    svc('default', 'other', { clusterIP: '10.96.0.50', ports: [{ port: 80 }] }),
    svc('app', 'web', { clusterIP: '10.96.1.1', ports: [{ name: 'http', port: 80 }] }),
    svc('app', 'db', { clusterIP: 'None', ports: [{ port: 5432 }] }),
    svc('app', 'ext', { type: 'ExternalName', externalName: 'example.com' }),
    svc('elsewhere', 'web', { clusterIP: '10.96.2.1', ports: [{ port: 8080 }] }),
    svc('own', 'kubernetes', { clusterIP: '10.96.3.1', ports: [{ name: 'https', port: 8443 }] }),
    svc('own', 'api', { clusterIP: '10.96.3.2', ports: [{ port: 80 }] }),
  ];
  const picked = (namespace: string, enableServiceLinks: boolean): string[] => servicesForPod(cluster, { namespace, enableServiceLinks }).map((s) => `${s.namespace}/${s.name}`);

  it("the pod's namespace with a cluster IP, plus default/kubernetes; nothing from other namespaces", () => {
    assert.deepEqual(picked('app', true), ['default/kubernetes', 'app/web']);
  });
  it('enableServiceLinks: false keeps only default/kubernetes', () => {
    assert.deepEqual(picked('app', false), ['default/kubernetes']);
    assert.deepEqual(lines(serviceEnv(cluster, { namespace: 'app', enableServiceLinks: false })), lines(serviceVars(KUBERNETES)));
  });
  it('a `kubernetes` service in the pod namespace replaces the default one when links are on', () => {
    assert.deepEqual(picked('own', true), ['own/api', 'own/kubernetes']);
    const env = Object.fromEntries(serviceEnv(cluster, { namespace: 'own', enableServiceLinks: true }).map((v) => [v.name, v.value]));
    assert.equal(env['KUBERNETES_SERVICE_HOST'], '10.96.3.1');
    assert.equal(env['KUBERNETES_SERVICE_PORT'], '8443');
    assert.equal(env['KUBERNETES_PORT_443_TCP'], undefined);
  });
  it('… and does not when links are off: default/kubernetes again', () => {
    assert.deepEqual(picked('own', false), ['default/kubernetes']);
  });
  it('a pod in default gets every default service', () => {
    assert.deepEqual(picked('default', true), ['default/kubernetes', 'default/other']);
    assert.deepEqual(picked('default', false), ['default/kubernetes']);
  });
  it('no kubernetes service at all: only the namespace', () => {
    assert.deepEqual(servicesForPod(cluster.slice(1), { namespace: 'app', enableServiceLinks: true }).map((s) => s.name), ['web']);
  });
  it('the result does not depend on the order services arrive in', () => {
    const a = lines(serviceEnv(cluster, { namespace: 'own', enableServiceLinks: true }));
    const b = lines(serviceEnv([...cluster].reverse(), { namespace: 'own', enableServiceLinks: true }));
    assert.deepEqual(a, b);
  });
});

describe('service variables: a pod’s set', () => {
  it('services in name order; a name two services produce appears once, from the first by name', () => {
    const foo = svc('ns', 'foo', { clusterIP: '10.0.0.1', ports: [{ port: 80 }] });
    const fooService = svc('ns', 'foo-service', { clusterIP: '10.0.0.2', ports: [{ port: 81 }] });
    const env = serviceEnv([fooService, foo], { namespace: 'ns', enableServiceLinks: true });
    // foo-service's link variable FOO_SERVICE_PORT=tcp://10.0.0.2:81 collides with foo's FOO_SERVICE_PORT=80
    assert.deepEqual(env.filter((v) => v.name === 'FOO_SERVICE_PORT'), [{ name: 'FOO_SERVICE_PORT', value: '80' }]);
    assert.equal(new Set(env.map((v) => v.name)).size, env.length);
    assert.equal(env[0]!.name, 'FOO_SERVICE_HOST');
    assert.ok(env.some((v) => v.name === 'FOO_SERVICE_SERVICE_HOST' && v.value === '10.0.0.2'));
  });

  it('size: NAME=VALUE plus a NUL per variable, in UTF-8 bytes', () => {
    assert.equal(envBytes([{ name: 'A', value: 'bc' }, { name: 'D', value: 'é' }]), 5 + 5);
    assert.equal(envBytes(serviceVars(KUBERNETES)), lines(serviceVars(KUBERNETES)).join('\0').length + 1);
  });
});
