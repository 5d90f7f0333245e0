import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseListenAddress } from '../../src/config/config.js';

describe('configuration', () => {
  it('has CoreDNS-like defaults', () => {
    const c = loadConfig('serve', [], {});
    assert.deepEqual(c.zones, ['cluster.local']);
    assert.deepEqual(c.dnsAddr, { host: '', port: 53 });
    assert.equal(c.ttl, 5);
    assert.equal(c.pods, 'insecure');
    assert.equal(c.noForward, false);
  });

  it('takes flags in both forms, repeatable zones, and normalises zone names', () => {
    const c = loadConfig('serve', ['--zone', 'Cluster.Local.', '--zone=example.internal', '--ttl=30', '--pods', 'verified', '--endpoint-pod-names'], {});
    assert.deepEqual(c.zones, ['cluster.local', 'example.internal']);
    assert.equal(c.ttl, 30);
    assert.equal(c.pods, 'verified');
    assert.equal(c.endpointPodNames, true);
  });

  it('reads environment variables and a YAML file, flags winning over env over file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-cfg-'));
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'ttl: 7\nzone: [a.example, b.example]\npods: disabled\nignoreEmptyService: true\n');
    const c = loadConfig('serve', ['--config', file, '--pods', 'verified'], { CLUSTER_DNS_TTL: '9' });
    assert.equal(c.ttl, 9);
    assert.deepEqual(c.zones, ['a.example', 'b.example']);
    assert.equal(c.pods, 'verified');
    assert.equal(c.ignoreEmptyService, true);
  });

  const bad: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--ttl', '-1'], {}, /--ttl: want an integer from 0 to 3600, got "-1"/],
    [['--ttl', 'abc'], {}, /--ttl: want an integer/],
    [['--pods', 'sometimes'], {}, /--pods: want one of disabled, insecure, verified, got "sometimes"/],
    [['--dns-addr', 'nowhere'], {}, /--dns-addr "nowhere": want HOST:PORT/],
    [['--dns-addr', '1.2.3.4:99999'], {}, /--dns-addr/],
    [['--zone', 'bad..zone'], {}, /--zone: "bad..zone" is not a domain name/],
    [['--frobnicate'], {}, /unknown argument "--frobnicate"/],
    [['--ttl'], {}, /--ttl needs a value/],
    [[], { CLUSTER_DNS_TTL: 'x' }, /environment CLUSTER_DNS_TTL: want an integer/],
    [['--kubeconfig', 'a', '--manifests', 'b'], {}, /alternatives/],
  ];
  for (const [argv, env, message] of bad) {
    it(`rejects ${JSON.stringify(argv)} ${JSON.stringify(env)} with a message naming the setting`, () => {
      assert.throws(() => loadConfig('serve', argv, env), (e: unknown) => e instanceof ConfigError && message.test(e.message));
    });
  }

  it('rejects unknown keys and malformed files in the config file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdns-cfg-'));
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'tll: 5\n');
    fs.writeFileSync(path.join(dir, 'b.yaml'), 'ttl: [\n');
    assert.throws(() => loadConfig('serve', ['--config', path.join(dir, 'a.yaml')], {}), /unknown setting "tll"/);
    assert.throws(() => loadConfig('serve', ['--config', path.join(dir, 'b.yaml')], {}), /b\.yaml/);
    assert.throws(() => loadConfig('serve', ['--config', path.join(dir, 'none.yaml')], {}), /none\.yaml/);
  });

  it('parses listen addresses', () => {
    assert.deepEqual(parseListenAddress(':53'), { host: '', port: 53 });
    assert.deepEqual(parseListenAddress('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseListenAddress('[::1]:53'), { host: '::1', port: 53 });
  });
});
