// src/env/service-env.ts against the kubelet's own code: test/kubelet-envvars/main.go (built by test/setup.sh from
// the same k8s.io/kubernetes v1.35.4 as the control plane) runs getServiceEnvVarMap and envvars.FromServices on
// randomised service sets, and every case must match ours:
//  - per service, FromServices and our serviceVars give the same list, in the same order;
//  - per pod, the same variable names; the same value for every name only one of the pod's services produces;
//    for a name several produce, both picks come from those services (the kubelet's choice is Go map order).
// Seeded, so a failure names a case that can be replayed: SEED=<n> npx mocha ....
import { rng } from '../helpers/rng.js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CACHE_DIR, KUBE_VERSION } from '../cluster/binaries.js';
import { type ApiObject, toService } from '../../src/kube/convert.js';
import { serviceEnv, serviceVars, servicesForPod } from '../../src/env/service-env.js';

const run = promisify(execFile);
const CASES = 1000;
const SEED = Number(process.env['SEED'] ?? 20261122);

function kubeletEnvvarsBinary(): string {
  const path = process.env['KUBELET_ENVVARS'] || join(CACHE_DIR, `kube-${KUBE_VERSION}`, 'bin', 'kubelet-envvars');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`kubelet-envvars not found at ${path}: build it with \`bash test/setup.sh\` (or set KUBELET_ENVVARS)`);
  }
  return path;
}


interface Case {
  namespace: string;
  enableServiceLinks: boolean;
  services: ApiObject[];
}

interface KubeletResult {
  env: Record<string, string>;
  perService: Array<Array<{ name: string; value?: string }>>;
}

function generate(random: () => number): Case {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const chance = (p: number): boolean => random() < p;
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const namespaces = ['default', 'app', 'other'];
  // Names chosen to collide (foo / foo-service, web / web-port-80-tcp), to lead with a digit, or to have dashes.
  const names = ['kubernetes', 'web', 'foo', 'foo-service', 'db', 'a-b', 'x1', '3scale', 'api-v2', 'kubernetes-api', 'web-port-80-tcp', 'kubernetes-service'];
  const randomName = (): string => String.fromCharCode(97 + int(0, 25)) + Array.from({ length: int(0, 8) }, () => pick([...'abcdefghijklmnopqrstuvwxyz0123456789-'])).join('') + pick([...'abcdefghijklmnopqrstuvwxyz0123456789']);
  const portNames = ['http', 'https', 'dns', 'grpc-web', 'metrics', 'p2', '9p', 'dns-tcp'];
  const ip = (): string => {
    const r = random();
    if (r < 0.6) return `10.96.${int(0, 255)}.${int(1, 254)}`;
    if (r < 0.75) return `fd00:10:96::${int(1, 0xffff).toString(16)}`;
    if (r < 0.85) return `FD00:10:96::${int(1, 0xffff).toString(16).toUpperCase()}`; // raw, upper case
    if (r < 0.95) return `2001:db8:0:0:0:0:${int(0, 9)}:${int(1, 99)}`; // raw, not compressed
    return `::ffff:10.0.${int(0, 255)}.${int(1, 254)}`;
  };
  const services: ApiObject[] = [];
  const used = new Set<string>();
  const add = (namespace: string, name: string): void => {
    if (used.has(`${namespace}/${name}`)) return;
    used.add(`${namespace}/${name}`);
    const kind = random();
    const spec: Record<string, unknown> = {};
    if (kind < 0.1) spec['clusterIP'] = 'None';
    else if (kind < 0.15) Object.assign(spec, { type: 'ExternalName', externalName: 'example.com' });
    else if (kind < 0.2) {
      // no cluster IP allocated (yet)
    } else {
      spec['type'] = pick(['ClusterIP', 'ClusterIP', 'ClusterIP', 'NodePort', 'LoadBalancer']);
      spec['clusterIP'] = ip();
      if (chance(0.15)) spec['clusterIPs'] = [spec['clusterIP'], `10.97.${int(0, 255)}.${int(1, 254)}`];
    }
    const nPorts = spec['clusterIP'] === 'None' ? int(0, 3) : int(1, 4);
    const ports: Array<Record<string, unknown>> = [];
    for (let i = 0; i < nPorts; i++) {
      const p: Record<string, unknown> = { port: chance(0.2) && ports.length ? ports[0]!['port'] : int(1, 65535) };
      if (i > 0 || chance(0.5)) p['name'] = chance(0.8) ? pick(portNames) : randomName(); // names may repeat: the API would refuse, the kubelet copes
      const proto = random();
      if (proto < 0.6) p['protocol'] = 'TCP';
      else if (proto < 0.8) p['protocol'] = 'UDP';
      else if (proto < 0.9) p['protocol'] = 'SCTP';
      if (chance(0.3)) p['targetPort'] = int(1, 65535);
      if (spec['type'] === 'NodePort' && chance(0.5)) p['nodePort'] = int(30000, 32767);
      ports.push(p);
    }
    if (ports.length) spec['ports'] = ports;
    services.push({ apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec });
  };
  if (chance(0.85)) add('default', 'kubernetes');
  for (let i = int(0, 12); i > 0; i--) add(pick(namespaces), chance(0.7) ? pick(names) : randomName());
  // shuffle: the kubelet's lister order is arbitrary, and ours must not matter
  for (let i = services.length - 1; i > 0; i--) {
    const j = int(0, i);
    [services[i], services[j]] = [services[j]!, services[i]!];
  }
  return { namespace: pick(namespaces), enableServiceLinks: chance(0.7), services };
}

/** Cases the tables pin, run through the kubelet as well. */
const FIXED: Case[] = [
  {
    namespace: 'own',
    enableServiceLinks: true,
    services: [
      { metadata: { namespace: 'default', name: 'kubernetes' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] } },
      { metadata: { namespace: 'own', name: 'kubernetes' }, spec: { clusterIP: '2001:DB8::0A', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { port: 7777, name: 's', protocol: 'SCTP' }] } },
      { metadata: { namespace: 'own', name: '3scale-api' }, spec: { clusterIP: '10.0.0.8', ports: [{ name: 'grpc-web', port: 8080 }] } },
    ],
  },
  {
    namespace: 'own',
    enableServiceLinks: false,
    services: [
      { metadata: { namespace: 'own', name: 'kubernetes' }, spec: { clusterIP: '10.0.0.2', ports: [{ port: 443 }] } },
      { metadata: { namespace: 'default', name: 'kubernetes' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] } },
    ],
  },
];

async function kubelet(binary: string, cases: Case[]): Promise<KubeletResult[]> {
  const child = execFile(binary, [], { maxBuffer: 256 * 1024 * 1024 });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(Buffer.from(c)));
  child.stderr!.on('data', (c: Buffer) => err.push(Buffer.from(c)));
  const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  child.stdin!.end(JSON.stringify(cases));
  const code = await done;
  if (code !== 0) throw new Error(`kubelet-envvars exited ${code}: ${Buffer.concat(err).toString()}`);
  return JSON.parse(Buffer.concat(out).toString()) as KubeletResult[];
}

function compare(c: Case, k: KubeletResult, label: string): void {
  const infos = c.services.map((s) => toService(s));
  infos.forEach((info, i) => {
    const ours = serviceVars(info).map((v) => `${v.name}=${v.value}`);
    const theirs = k.perService[i]!.map((v) => `${v.name}=${v.value ?? ''}`);
    assert.deepEqual(ours, theirs, `${label}: FromServices of ${info.namespace}/${info.name}`);
  });
  const pod = { namespace: c.namespace, enableServiceLinks: c.enableServiceLinks };
  const ours = new Map(serviceEnv(infos, pod).map((v) => [v.name, v.value]));
  assert.deepEqual([...ours.keys()].sort(), Object.keys(k.env).sort(), `${label}: variable names`);
  // The values each name can take across the services we picked, by the kubelet's FromServices.
  const possible = new Map<string, Set<string>>();
  for (const s of servicesForPod(infos, pod)) {
    const i = infos.indexOf(s);
    const own = new Map(k.perService[i]!.map((v) => [v.name, v.value ?? ''])); // last wins within a service
    for (const [name, value] of own) (possible.get(name) ?? possible.set(name, new Set()).get(name)!).add(value);
  }
  for (const [name, value] of ours) {
    const options = possible.get(name) ?? new Set();
    if (options.size <= 1) assert.equal(value, k.env[name], `${label}: ${name}`);
    else {
      assert.ok(options.has(value), `${label}: ${name}=${value} is none of ${[...options].join(' | ')}`);
      assert.ok(options.has(k.env[name]!), `${label}: kubelet's ${name}=${k.env[name]} is none of ${[...options].join(' | ')}`);
    }
  }
}

describe('service variables against the kubelet (getServiceEnvVarMap, envvars.FromServices v1.35.4)', function () {
  this.timeout(120_000);

  it('the fixed cases', async () => {
    const results = await kubelet(kubeletEnvvarsBinary(), FIXED);
    FIXED.forEach((c, i) => compare(c, results[i]!, `fixed case ${i}`));
  });

  it(`${CASES} randomised service sets (seed ${SEED})`, async () => {
    const random = rng(SEED);
    const cases = Array.from({ length: CASES }, () => generate(random));
    const results = await kubelet(kubeletEnvvarsBinary(), cases);
    assert.equal(results.length, CASES);
    let variables = 0;
    let collisions = 0;
    let services = 0;
    cases.forEach((c, i) => {
      compare(c, results[i]!, `case ${i} (seed ${SEED}): ${JSON.stringify(c)}`);
      variables += Object.keys(results[i]!.env).length;
      services += c.services.length;
      const names = results[i]!.perService.flat().map((v) => v.name);
      collisions += names.length - new Set(names).size;
    });
    // Not vacuous: the cases produce variables, and names that collide.
    assert.ok(variables > CASES * 10, `only ${variables} variables`);
    assert.ok(collisions > 0, 'no colliding names generated');
    console.log(`      ${CASES} cases, ${services} services, ${variables} variables from the kubelet: all match`);
  });
});
