// `cluster-dns import-corefile`: the Corefile reader, the mapping to the --config schema (table tests, kind's
// default Corefile first), that every output is a config file `serve` accepts, and the command itself.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/config.js';
import { importCorefile } from '../../src/corefile/import.js';
import { CorefileError, parseCorefile, parseDuration, parseServerKey } from '../../src/corefile/parse.js';

const run = promisify(execFile);
const CLI = path.resolve('dist/src/cli.js');

/** kind's (kubeadm's) Corefile, as `kubectl -n kube-system get cm coredns` shows it on a new kind cluster. */
const KIND_COREFILE = fs.readFileSync('test/fixtures/kind.Corefile', 'utf8');

/** The import must always be a config file that `cluster-dns serve` loads. */
function assertLoads(config: Record<string, unknown>, yamlText: string): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-import-'));
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, yamlText);
  const loaded = loadConfig('serve', ['--config', file], {}) as unknown as Record<string, unknown>;
  if (config['zone']) assert.deepEqual(loaded['zones'], config['zone']);
  for (const key of ['ttl', 'pods', 'cacheTtl', 'maxConcurrent', 'resolvConf', 'noForward']) {
    if (config[key] !== undefined) assert.deepEqual(loaded[key], config[key], key);
  }
}

interface Case {
  name: string;
  corefile: string;
  config: Record<string, unknown>;
  /** Each must match one line of notCarried, and there must be exactly as many lines. */
  notCarried: RegExp[];
}

const CASES: Case[] = [
  {
    name: "kind's default Corefile",
    corefile: KIND_COREFILE,
    config: {
      zone: ['cluster.local'], ttl: 30, pods: 'insecure', fallthrough: ['in-addr.arpa', 'ip6.arpa'], resolvConf: '/etc/resolv.conf', maxConcurrent: 1000,
      cacheCapReplies: true, cacheTtl: 30, cacheNegativeTtl: 30, loadbalance: 'round_robin',
      metricsAddr: ':9153', healthAddr: ':8080', readyAddr: ':8181', lameduck: 5,
    },
    notCarried: [],
  },
  {
    name: 'a customised Corefile: upstream addresses, stub domains in their own blocks and inline, cache options, log',
    corefile: `# company DNS
.:53 {
    errors
    log
    health :8080
    ready
    kubernetes cluster.local example.internal in-addr.arpa ip6.arpa {
        pods verified
        endpoint_pod_names
        ignore empty_service
        fallthrough in-addr.arpa ip6.arpa
        startup_timeout 10s
        namespaces default kube-system
    }
    prometheus 0.0.0.0:9153
    forward . 8.8.8.8 dns://1.1.1.1:53 [2001:4860:4860::8888]:53 tls://9.9.9.9 {
        policy sequential
        max_fails 3
        health_check 1s
        force_tcp
    }
    forward corp.example 10.0.0.53
    cache {
        success 5000 600
        denial 2000 60 5
        servfail 2s
        serve_stale 30m
        prefetch 10
    }
    loop
    hosts /etc/coredns/hosts
}
consul.local:53 {
    errors
    cache 30
    forward . 10.150.0.1 10.150.0.2
}
lab.example:53 {
    file /etc/coredns/lab.db
}
`,
    config: {
      zone: ['cluster.local', 'example.internal'], ttl: 5, pods: 'verified', endpointPodNames: true, ignoreEmptyService: true,
      syncTimeout: 10, fallthrough: ['in-addr.arpa', 'ip6.arpa'], upstream: ['8.8.8.8', '1.1.1.1:53', '[2001:4860:4860::8888]:53'],
      stubDomain: ['corp.example=10.0.0.53', 'consul.local=10.150.0.1,10.150.0.2'],
      policy: 'sequential', maxFails: 3, healthCheckInterval: 1000,
      cacheCapReplies: true, cacheTtl: 600, cacheNegativeTtl: 60, cacheServfailTtl: 2, cacheMinTtl: 5, cacheSize: 7000, serveStale: true, serveStaleWindow: 1800,
      loadbalance: 'off', logQueries: true, metricsAddr: '0.0.0.0:9153', healthAddr: ':8080', readyAddr: ':8181', lameduck: 0,
    },
    notCarried: [
      /:13: kubernetes namespaces default kube-system: not supported: every namespace/,
      /:16: forward \. tls:\/\/9\.9\.9\.9: only plain DNS upstreams/,
      /:20: forward force_tcp: not supported/,
      /:28: cache prefetch 10: not supported/,
      /:31: hosts: not supported: no static records/,
      /:23: cache success\/denial capacity: .*cacheSize 7000/,
      /:38: server block lab\.example:53: only server blocks that forward/,
      /:35: server block consul\.local:53: cache: .*per-domain settings are not supported/,
    ],
  },
  {
    name: 'zones from the server block; no pods line, no cache, no forward, no loadbalance, no health/ready/prometheus: CoreDNS defaults written out',
    corefile: `cluster.local:1053 {
    kubernetes
}
`,
    config: { zone: ['cluster.local'], dnsAddr: ':1053', ttl: 5, pods: 'disabled', fallthrough: [], noForward: true, cacheTtl: 0, loadbalance: 'off' },
    notCarried: [
      /:1: \(no health\)/,
      /:1: \(no ready\)/,
      /:1: \(no prometheus\)/,
    ],
  },
  {
    name: 'a lone server block without braces; snippets; cache without a TTL takes CoreDNS maxima; bind',
    corefile: `(common) {
    errors
    loop
}
.:53 {
    import common
    bind 127.0.0.1
    kubernetes cluster.local in-addr.arpa ip6.arpa 10.0.0.0/8 {
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache
    health
    ready
    prometheus
    reload
}
`,
    config: {
      zone: ['cluster.local'], dnsAddr: '127.0.0.1:53', ttl: 5, pods: 'disabled', fallthrough: ['in-addr.arpa', 'ip6.arpa'], resolvConf: '/etc/resolv.conf',
      cacheCapReplies: true, cacheTtl: 3600, cacheNegativeTtl: 1800, loadbalance: 'off', metricsAddr: 'localhost:9153', healthAddr: ':8080', readyAddr: ':8181', lameduck: 0,
    },
    notCarried: [/:8: kubernetes 10\.0\.0\.0\/8: cluster-dns answers PTR/],
  },
  {
    name: 'cache disable success/denial, a minimum TTL, fallthrough for every zone, a stub block binding the same address',
    corefile: `.:53 {
    bind 127.0.0.1
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        fallthrough
    }
    forward . 10.0.0.1
    cache 20 {
        success 9984 20 2
        disable success
        disable denial .
    }
    health
    ready
    prometheus
}
stub.example:53 {
    bind 127.0.0.1
    forward . 10.0.0.2
    cache 20 {
        success 9984 20 2
        disable success
        disable denial .
    }
}
`,
    config: {
      zone: ['cluster.local'], dnsAddr: '127.0.0.1:53', ttl: 5, pods: 'disabled', fallthrough: ['cluster.local', 'in-addr.arpa', 'ip6.arpa'],
      upstream: ['10.0.0.1'], stubDomain: ['stub.example=10.0.0.2'],
      cacheCapReplies: true, cacheTtl: 20, cacheNegativeTtl: 20, cacheMinTtl: 2, noCacheSuccess: true, noCacheDenial: true, cacheSize: 19968,
      loadbalance: 'off', metricsAddr: 'localhost:9153', healthAddr: ':8080', readyAddr: ':8181', lameduck: 0,
    },
    notCarried: [/:7: cache success\/denial capacity: .*cacheSize 19968/],
  },
];

describe('import-corefile: Corefile to cluster-dns config', () => {
  it('cache disable for the cluster zones only is what cluster-dns does anyway; for another zone it is named', () => {
    const corefile = (zone: string) => `.:53 {\n kubernetes cluster.local\n forward . 10.0.0.1\n cache 30 {\n  disable success ${zone}\n }\n}\n`;
    const cluster = importCorefile(corefile('cluster.local'));
    assert.equal(cluster.config['noCacheSuccess'], undefined);
    assert.ok(!cluster.notCarried.some((l) => /disable/.test(l)), cluster.notCarried.join('\n'));
    const other = importCorefile(corefile('example.org'));
    assert.ok(other.notCarried.some((l) => /:5: cache disable success example\.org: disable applies to every zone or to the cluster zones only/.test(l)), other.notCarried.join('\n'));
  });

  for (const c of CASES) {
    it(c.name, () => {
      const result = importCorefile(c.corefile);
      assert.deepEqual(result.config, c.config);
      const unmatched = result.notCarried.filter((line) => !c.notCarried.some((re) => re.test(line)));
      assert.deepEqual(unmatched, [], 'lines not expected');
      for (const re of c.notCarried) assert.ok(result.notCarried.some((line) => re.test(line)), `expected a line matching ${re}\n${result.notCarried.join('\n')}`);
      assert.equal(result.notCarried.length, c.notCarried.length, result.notCarried.join('\n'));
      assertLoads(c.config, result.yaml);
    });
  }

  it('a braceless single server block is read like a braced one', () => {
    const braceless = `.:53\nerrors\nkubernetes cluster.local {\n  pods insecure\n}\nforward . 10.0.0.1\ncache 30\n`;
    assert.deepEqual(importCorefile(braceless).config, importCorefile(`.:53 {\n${braceless.split('\n').slice(1).join('\n')}}\n`).config);
  });

  it('stub domains without a forward for the rest: forwarding stays on (the stubs need it), and that is said', () => {
    const r = importCorefile(`.:53 {\n kubernetes cluster.local\n}\nexample.org {\n forward . 10.0.0.1\n}\n`);
    assert.equal(r.config['noForward'], undefined);
    assert.deepEqual(r.config['stubDomain'], ['example.org=10.0.0.1']);
    assert.ok(r.notCarried.some((l) => /^Corefile:1: \(no forward \.\): stub domains need forwarding on/.test(l)), r.notCarried.join('\n'));
  });

  it('reads quoted arguments, comments anywhere, comma-separated keys', () => {
    const blocks = parseCorefile(`a.example, b.example:53 { # two zones\n  forward . "10.0.0.1" # upstream\n}\n`);
    assert.deepEqual(blocks, [{ keys: ['a.example', 'b.example:53'], line: 1, directives: [{ name: 'forward', args: ['.', '10.0.0.1'], block: undefined, line: 2 }] }]);
    const config = importCorefile(`.:53 {\n kubernetes cluster.local\n forward . 10.0.0.9\n}\na.example b.example {\n forward . 10.0.0.1\n}\n`).config;
    assert.deepEqual(config['stubDomain'], ['a.example=10.0.0.1', 'b.example=10.0.0.1']);
  });

  it('stops on syntax errors, naming the line', () => {
    for (const [text, message] of [
      ['.:53 {\n  errors\n', /line 1: block opened here is never closed/],
      ['.:53 {\n  forward . "10.0.0.1\n}\n', /line 2: unterminated quoted string/],
      ['.:53 {\n}\n}\n', /line 3: expected server block keys, got }/],
      ['.:53 {\n import nothing\n}\n', /line 2: import nothing: only snippets/],
      ['a.example {\n}\nb.example\n', /line 3: expected \{ after the server block keys b\.example/],
    ] as const) {
      assert.throws(() => importCorefile(text), (err: unknown) => err instanceof CorefileError && message.test(err.message));
    }
  });

  it('server keys and durations', () => {
    assert.deepEqual(parseServerKey('.:53'), { scheme: 'dns', zone: '.', port: 53 });
    assert.deepEqual(parseServerKey('dns://Example.COM.:1053'), { scheme: 'dns', zone: 'example.com', port: 1053 });
    assert.deepEqual(parseServerKey('tls://example.com'), { scheme: 'tls', zone: 'example.com', port: 53 });
    assert.deepEqual(parseServerKey('10.0.0.0/8'), { scheme: 'dns', zone: '10.0.0.0/8', port: 53 });
    assert.equal(parseDuration('5s'), 5000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30'), 30_000);
    assert.throws(() => parseDuration('5 s'), /not a duration/);
  });
});

describe('cluster-dns import-corefile (the command)', () => {
  it('reads a file: YAML on stdout, what was left out on stderr, exit 0', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-corefile-'));
    const file = path.join(dir, 'Corefile');
    fs.writeFileSync(file, KIND_COREFILE);
    const kind = await run(process.execPath, [CLI, 'import-corefile', file]);
    assert.match(kind.stdout, /^# cluster-dns configuration/);
    assert.match(kind.stdout, /^# Every directive was carried over\.$/m);
    assert.match(kind.stdout, /^ttl: 30$/m);
    assert.equal(kind.stderr, '');
    fs.writeFileSync(file, KIND_COREFILE.replace('    loop\n', '    loop\n    hosts /etc/hosts\n    autopath @kubernetes\n'));
    const more = await run(process.execPath, [CLI, 'import-corefile', file]);
    assert.match(more.stdout, /^# 2 directive\(s\) or option\(s\) could not be carried over; they were listed on stderr\.$/m);
    assert.equal(more.stderr, `not carried over: ${file}:18: hosts: not supported: no static records\nnot carried over: ${file}:19: autopath: differs: --autopath refuses where it is unsure of the client (docs/dns-behaviour.md); set autopath: true to choose it\n`);
  });

  it('reads standard input with - (as in kubectl get cm coredns -o jsonpath=... | cluster-dns import-corefile -)', async () => {
    const child = execFile(process.execPath, [CLI, 'import-corefile', '-']);
    child.stdin!.end(KIND_COREFILE);
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    assert.equal(stdout, importCorefile(KIND_COREFILE, 'stdin').yaml);
  });

  it('exit 2 with one line for a missing file, a syntax error or a bad argument', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-corefile-'));
    const bad = path.join(dir, 'Corefile');
    fs.writeFileSync(bad, '.:53 {\n errors\n');
    for (const [args, message] of [
      [['import-corefile', path.join(dir, 'none')], /^cluster-dns: import-corefile: cannot read .*none: ENOENT\n$/],
      [['import-corefile', bad], /^cluster-dns: import-corefile: .*Corefile: line 1: block opened here is never closed\n$/],
      [['import-corefile', '--bogus'], /^cluster-dns: import-corefile: unknown argument "--bogus"/],
    ] as const) {
      const err = await run(process.execPath, [CLI, ...args]).then(() => undefined, (e: { code: number; stderr: string }) => e);
      assert.ok(err, `${args.join(' ')} should fail`);
      assert.equal(err.code, 2);
      assert.match(err.stderr, message);
    }
  });

  it('--help explains the command', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'import-corefile', '--help']);
    assert.match(stdout, /Usage: cluster-dns import-corefile \[FILE\|-\]/);
  });
});
