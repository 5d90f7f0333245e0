// The pod planner and its JSONPatch: add operations only, in the documented order, leaving what a container
// declares alone, idempotent under reinvocation, with the opt-outs and the size cap. Over the demo cluster in
// examples/ (namespace demo: api, dual, empty, web with cluster IPs; db headless; www ExternalName).
import assert from 'node:assert/strict';
import { ClusterState } from '../../src/cluster/state.js';
import { type EnvPolicy, type PodObject, planPodEnv } from '../../src/env/pod-env.js';
import { serviceEnv } from '../../src/env/service-env.js';
import { applyObject } from '../../src/sources/apply.js';
import { loadManifests } from '../../src/sources/manifests.js';
import { envPatch } from '../../src/webhook/patch.js';
import { applyAdds } from '../helpers/json-patch.js';

function demo(): ClusterState {
  const state = new ClusterState(true);
  for (const { kind, object } of loadManifests('examples', () => {})) applyObject(state, kind, object);
  applyObject(state, 'Namespace', { metadata: { name: 'quiet', labels: { 'cluster-dns.io/inject-env': 'disabled' } } });
  applyObject(state, 'Namespace', { metadata: { name: 'loud', labels: { 'cluster-dns.io/inject-env': 'enabled' } } });
  return state;
}

const POLICY: EnvPolicy = { neverMutate: ['kube-system', 'cluster-dns'], maxEnvBytes: 32 * 1024, envFromContainers: 'skip', serviceLinks: 'pod' };
const names = (env: unknown): string[] => (env as Array<{ name: string }>).map((e) => e.name);

describe('env-var injector: the patch', () => {
  const state = demo();
  const demoVars = serviceEnv(state.services.values(), { namespace: 'demo', enableServiceLinks: true });

  it('a container without env gets one `add .../env` with every variable, in the service-env order', () => {
    const pod: PodObject = { spec: { containers: [{ name: 'app' }] } };
    const plan = planPodEnv(pod, 'demo', state, POLICY);
    assert.equal(plan.outcome, 'injected');
    const ops = envPatch(plan);
    assert.deepEqual(ops, [{ op: 'add', path: '/spec/containers/0/env', value: demoVars.map((v) => ({ name: v.name, value: v.value })) }]);
    // api, dual, empty, kubernetes, web: services by name, as documented
    assert.deepEqual([...new Set(names(ops[0]!.value).map((n) => n.split('_')[0]))], ['API', 'DUAL', 'EMPTY', 'KUBERNETES', 'WEB']);
  });

  it('a container with env gets `add .../env/-` per variable after its own; declared names are left alone, even empty', () => {
    const own = [
      { name: 'WEB_SERVICE_HOST', value: '' },
      { name: 'KUBERNETES_SERVICE_PORT', valueFrom: { configMapKeyRef: { name: 'x', key: 'y' } } },
      { name: 'MINE', value: '$(WEB_SERVICE_PORT)' },
    ];
    const pod: PodObject = { spec: { containers: [{ name: 'app', env: own }] } };
    const ops = envPatch(planPodEnv(pod, 'demo', state, POLICY));
    assert.ok(ops.every((o) => o.op === 'add' && o.path === '/spec/containers/0/env/-'));
    assert.equal(ops.length, demoVars.length - 2);
    const after = applyAdds(pod, ops).spec!.containers![0]!.env!;
    assert.deepEqual(after.slice(0, 3), own, "the container's own entries first, untouched");
    assert.equal(names(after).filter((n) => n === 'WEB_SERVICE_HOST').length, 1);
    assert.equal(names(after).filter((n) => n === 'KUBERNETES_SERVICE_PORT').length, 1);
  });

  it('init containers first, then containers, each in spec order; every container gets the same set', () => {
    const pod: PodObject = { spec: { initContainers: [{ name: 'i0' }, { name: 'i1', env: [] }], containers: [{ name: 'c0', env: [{ name: 'X', value: '1' }] }, { name: 'c1' }] } };
    const ops = envPatch(planPodEnv(pod, 'demo', state, POLICY));
    const order = [...new Set(ops.map((o) => o.path.replace(/\/env(\/-)?$/, '')))];
    assert.deepEqual(order, ['/spec/initContainers/0', '/spec/initContainers/1', '/spec/containers/0', '/spec/containers/1']);
    const after = applyAdds(pod, ops);
    for (const c of [...after.spec!.initContainers!, ...after.spec!.containers!]) {
      assert.deepEqual(names(c.env).filter((n) => n !== 'X'), demoVars.map((v) => v.name), c.name);
    }
  });

  it('is idempotent: the patched pod, reviewed again (reinvocation), gets nothing', () => {
    const pod: PodObject = { spec: { initContainers: [{ name: 'i' }], containers: [{ name: 'c', env: [{ name: 'A', value: 'b' }] }] } };
    const once = applyAdds(pod, envPatch(planPodEnv(pod, 'demo', state, POLICY)));
    const again = planPodEnv(once, 'demo', state, POLICY);
    assert.equal(again.outcome, 'unchanged');
    assert.deepEqual(envPatch(again), []);
  });

  it('a container another webhook added before the reinvocation gets its variables; the others nothing', () => {
    const pod: PodObject = { spec: { containers: [{ name: 'c' }] } };
    const once = applyAdds(pod, envPatch(planPodEnv(pod, 'demo', state, POLICY)));
    once.spec!.containers!.push({ name: 'sidecar' });
    const ops = envPatch(planPodEnv(once, 'demo', state, POLICY));
    assert.deepEqual(ops.map((o) => o.path), ['/spec/containers/1/env']);
  });

  it('enableServiceLinks: false in the pod gives only the kubernetes variables', () => {
    const plan = planPodEnv({ spec: { enableServiceLinks: false, containers: [{ name: 'c' }] } }, 'demo', state, POLICY);
    assert.ok(plan.variables.length > 0 && plan.variables.every((v) => v.name.startsWith('KUBERNETES_')));
  });

  it('--service-links always: enableServiceLinks: false still gets every service of its namespace', () => {
    const pod: PodObject = { spec: { enableServiceLinks: false, containers: [{ name: 'c' }] } };
    const always = planPodEnv(pod, 'demo', state, { ...POLICY, serviceLinks: 'always' });
    assert.deepEqual(always.variables, demoVars);
    assert.notDeepEqual(planPodEnv(pod, 'demo', state, POLICY).variables, demoVars);
  });

  it('the same patch for the same pod, whatever order the services were watched in', () => {
    const reversed = new ClusterState(true);
    for (const s of [...state.services.values()].reverse()) reversed.upsertService(s);
    const pod: PodObject = { spec: { containers: [{ name: 'c' }] } };
    assert.deepEqual(envPatch(planPodEnv(pod, 'demo', reversed, POLICY)), envPatch(planPodEnv(pod, 'demo', state, POLICY)));
  });

  it('envFrom containers: left to the kubelet by default, treated like the others with inject', () => {
    const pod: PodObject = { spec: { containers: [{ name: 'plain' }, { name: 'from', envFrom: [{ configMapRef: { name: 'cm' } }] }] } };
    const skipped = planPodEnv(pod, 'demo', state, POLICY);
    assert.deepEqual(envPatch(skipped).map((o) => o.path), ['/spec/containers/0/env']);
    assert.equal(skipped.containers[1]!.skipped, 'envFrom');
    assert.match(skipped.reason, /left to the kubelet \(envFrom\): from/);
    const injected = planPodEnv(pod, 'demo', state, { ...POLICY, envFromContainers: 'inject' });
    assert.deepEqual(envPatch(injected).map((o) => o.path), ['/spec/containers/0/env', '/spec/containers/1/env']);
  });
});

describe('env-var injector: what is never mutated, and the size cap', () => {
  const state = demo();
  const pod = (annotations: Record<string, string> = {}): PodObject => ({ metadata: { annotations }, spec: { containers: [{ name: 'c' }] } });
  const skipped: Array<[string, PodObject, string, RegExp]> = [
    ['kube-system', pod(), 'kube-system', /namespace kube-system is never mutated/],
    ["the webhook's own namespace", pod(), 'cluster-dns', /namespace cluster-dns is never mutated/],
    ['a namespace labelled cluster-dns.io/inject-env=disabled', pod(), 'quiet', /labelled cluster-dns.io\/inject-env=disabled/],
    ['a pod annotated cluster-dns.io/inject-env=disabled', pod({ 'cluster-dns.io/inject-env': 'disabled' }), 'demo', /annotated cluster-dns.io\/inject-env=disabled/],
    ['a mirror pod', pod({ 'kubernetes.io/config.mirror': 'abc' }), 'demo', /mirror pod/],
  ];
  for (const [what, p, ns, reason] of skipped) {
    it(`skips ${what}`, () => {
      const plan = planPodEnv(p, ns, state, POLICY);
      assert.equal(plan.outcome, 'skipped');
      assert.match(plan.reason, reason);
      assert.deepEqual(envPatch(plan), []);
    });
  }

  it('any other label or annotation value injects', () => {
    assert.equal(planPodEnv(pod({ 'cluster-dns.io/inject-env': 'enabled' }), 'loud', state, POLICY).outcome, 'injected');
  });

  it('over --max-env-bytes: nothing added, an admission warning saying why; at the limit exactly: added', () => {
    const full = planPodEnv(pod(), 'demo', state, POLICY);
    const over = planPodEnv(pod(), 'demo', state, { ...POLICY, maxEnvBytes: full.bytes - 1 });
    assert.equal(over.outcome, 'oversized');
    assert.deepEqual(envPatch(over), []);
    assert.equal(over.warnings.length, 1);
    assert.match(over.warnings[0]!, new RegExp(`no service variables injected: ${full.variables.length} service variables take ${full.bytes} bytes, over the limit of ${full.bytes - 1}.*enableServiceLinks: false`));
    assert.equal(planPodEnv(pod(), 'demo', state, { ...POLICY, maxEnvBytes: full.bytes }).outcome, 'injected');
  });

  it('a namespace with thousands of services stays under the default cap only while it fits', () => {
    const big = new ClusterState(true);
    for (let i = 0; i < 2000; i++) {
      applyObject(big, 'Service', { metadata: { namespace: 'huge', name: `svc-${i}` }, spec: { clusterIP: `10.100.${i >> 8}.${i & 255}`, ports: [{ name: 'http', port: 80 }] } });
    }
    const plan = planPodEnv(pod(), 'huge', big, POLICY);
    assert.equal(plan.outcome, 'oversized');
    assert.ok(plan.bytes > 300_000, String(plan.bytes));
  });
});
