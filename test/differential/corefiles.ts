// The Corefiles of the differential suite: kubeadm's (test/fixtures/kind.Corefile, as kind ships it) and variants
// a user writes, drawn from the seed. Every one is made safe for the test machine the same way: listeners on
// loopback ports, `bind 127.0.0.1`, the test API server's kubeconfig, and `forward` to the test's own NSD, never
// /etc/resolv.conf.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type CacheSetting =
  | { kind: 'none' }
  | { kind: 'plain'; ttl: number }
  | { kind: 'block'; ttl: number; success?: [number, number?]; denial?: [number, number?]; disable?: 'success' | 'denial'; disableZone?: string };

export interface Variant {
  label: string;
  /** Use the kind fixture itself rather than rendering the settings below. */
  kubeadm: boolean;
  ttl: number;
  pods: 'disabled' | 'insecure' | 'verified' | undefined;
  cache: CacheSetting;
  fallthrough: boolean;
  stub: boolean;
  loadbalance: boolean;
}

export interface Ports {
  dns: number;
  health: number;
  ready: number;
  metrics: number;
  upstream: number;
  stubUpstream: number;
  kubeconfig: string;
}

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/kind.Corefile', import.meta.url));

export const KUBEADM: Variant = {
  label: 'kubeadm v1.35 (kind)', kubeadm: true, ttl: 30, pods: 'insecure', cache: { kind: 'plain', ttl: 30 }, fallthrough: true, stub: false, loadbalance: true,
};

/** How long CoreDNS's cache may keep a cluster answer under this Corefile (0: no cache); rounds wait it out. */
export function clusterCacheLifetime(v: Variant): number {
  if (v.cache.kind === 'none') return 0;
  const success = v.cache.kind === 'block' && v.cache.success?.[1] !== undefined ? v.cache.success[1] : v.cache.ttl;
  const denial = v.cache.kind === 'block' && v.cache.denial?.[1] !== undefined ? v.cache.denial[1] : v.cache.ttl;
  return Math.max(success, denial);
}

function cacheLines(c: CacheSetting): string[] {
  if (c.kind === 'none') return [];
  if (c.kind === 'plain') return [`    cache ${c.ttl}`];
  const inner: string[] = [];
  for (const kind of ['success', 'denial'] as const) {
    const s = c[kind];
    if (s) inner.push(`        ${kind} ${s.filter((x) => x !== undefined).join(' ')}`);
  }
  if (c.disable) inner.push(`        disable ${c.disable}${c.disableZone ? ` ${c.disableZone}` : ''}`);
  return [`    cache ${c.ttl} {`, ...inner, '    }'];
}

function rendered(v: Variant, p: Ports): string {
  return [
    `.:${p.dns} {`,
    '    errors',
    `    health 127.0.0.1:${p.health} {`,
    '       lameduck 5s',
    '    }',
    `    ready 127.0.0.1:${p.ready}`,
    '    kubernetes cluster.local in-addr.arpa ip6.arpa {',
    ...(v.pods ? [`       pods ${v.pods}`] : []),
    ...(v.fallthrough ? ['       fallthrough in-addr.arpa ip6.arpa'] : []),
    `       ttl ${v.ttl}`,
    '    }',
    `    prometheus 127.0.0.1:${p.metrics}`,
    `    forward . 127.0.0.1:${p.upstream} {`,
    '       max_concurrent 1000',
    '    }',
    ...cacheLines(v.cache),
    '    loop',
    '    reload',
    ...(v.loadbalance ? ['    loadbalance'] : []),
    '}',
  ].join('\n');
}

/** The Corefile text, loopback-only, with `bind` and `kubeconfig` added. */
export function corefileText(v: Variant, p: Ports): string {
  let text = v.kubeadm
    ? readFileSync(FIXTURE, 'utf8')
        .replace('.:53 {', `.:${p.dns} {`)
        .replace('health {', `health 127.0.0.1:${p.health} {`)
        .replace(/^(\s*)ready$/m, `$1ready 127.0.0.1:${p.ready}`)
        .replace('prometheus :9153', `prometheus 127.0.0.1:${p.metrics}`)
        .replace('forward . /etc/resolv.conf', `forward . 127.0.0.1:${p.upstream}`)
    : rendered(v, p);
  if (/resolv\.conf|:53 |prometheus :/.test(text)) throw new Error(`Corefile ${v.label} still points off the test's loopback servers`);
  text = text
    .replace(/^(\.:\d+ \{)$/m, '$1\n    bind 127.0.0.1')
    .replace(/(kubernetes cluster\.local in-addr\.arpa ip6\.arpa \{)/, `$1\n       kubeconfig ${p.kubeconfig}`);
  if (v.stub) {
    const cache = cacheLines(v.cache).join('\n');
    text += `\nstub.test:${p.dns} {\n    bind 127.0.0.1\n    errors\n${cache ? `${cache}\n` : ''}    forward . 127.0.0.1:${p.stubUpstream}\n}`;
  }
  return `${text.trimEnd()}\n`;
}

/** A variant drawn from `random`: the settings users change from kubeadm's, each independently. */
export function randomVariant(random: () => number, index: number): Variant {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const ttl = pick([0, 5, 10, 30]);
  const pods = pick(['disabled', 'insecure', 'verified', undefined] as const);
  const cacheTtl = pick([10, 30]);
  const cache: CacheSetting = pick<CacheSetting>([
    { kind: 'none' },
    { kind: 'plain', ttl: cacheTtl },
    { kind: 'block', ttl: cacheTtl, success: [5000, pick([undefined, 20])], denial: [2000, pick([undefined, 10])] },
    { kind: 'block', ttl: cacheTtl, disable: pick(['success', 'denial'] as const) },
    { kind: 'block', ttl: cacheTtl, success: [9984], disable: 'denial' },
    { kind: 'block', ttl: cacheTtl, disable: 'success', disableZone: 'cluster.local' },
  ]);
  const fallthrough = random() < 0.7;
  const stub = random() < 0.5;
  const loadbalance = random() < 0.5;
  const parts = [`ttl ${ttl}`, `pods ${pods ?? '(none)'}`, cache.kind === 'none' ? 'no cache' : cacheLines(cache).map((l) => l.trim()).join(' '), fallthrough ? 'fallthrough' : 'no fallthrough', stub ? 'stub domain' : '', loadbalance ? 'loadbalance' : 'no loadbalance'];
  return { label: `variant ${index}: ${parts.filter(Boolean).join(', ')}`, kubeadm: false, ttl, pods, cache, fallthrough, stub, loadbalance };
}
