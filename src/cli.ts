#!/usr/bin/env -S node --max-semi-space-size=1 --expose-gc
// Command-line entry: `cluster-dns serve | zone | webhook | env | certs | help | version`.
import fs from 'node:fs';
// Each command's modules are imported when it runs: `serve` starts sooner without the webhook, certificate and
// Corefile code, and those commands without the DNS server.
import { type Command, ConfigError, helpText, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { ManifestError } from './sources/manifests.js';
import { ListenError } from './transport/listen.js';

const VERSION: string = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const USAGE = `cluster-dns ${VERSION}: Kubernetes cluster DNS (a CoreDNS replacement)

Usage:
  cluster-dns serve [flags]    serve DNS for the cluster zone from the API server or --manifests
  cluster-dns zone [flags]     print the records that would be served, as a zone file
  cluster-dns import-corefile [FILE|-]
                               print the cluster-dns config equivalent to a CoreDNS Corefile
  cluster-dns webhook [flags]  serve the env-var injector: a mutating admission webhook adding the kubelet's
                               service variables to new pods (HTTPS, POST /mutate)
  cluster-dns env [flags]      print the service variables a new pod would get, as NAME=VALUE lines
  cluster-dns certs [flags]    write a CA and a serving certificate for the webhook; optionally set its caBundle
  cluster-dns help [command]   show help
  cluster-dns version          print the version

Run 'cluster-dns <command> --help' for the flags of a command.`;

async function zone(argv: string[]): Promise<void> {
  const [{ ZoneIndex }, { startSource, waitForSync }, { zoneFile }] = await Promise.all([
    import('./records/zone-index.js'),
    import('./sources/index.js'),
    import('./zone-file.js'),
  ]);
  const config = loadConfig('zone', argv);
  const log = createLogger(config.logLevel);
  const { state, source } = await startSource(config, log, { watch: false });
  const index = new ZoneIndex(state, { endpointPodNames: config.endpointPodNames, ignoreEmptyService: config.ignoreEmptyService });
  if (!(await waitForSync(source, 60_000))) throw new Error('the source did not sync within 60 s');
  source.stop();
  const origin = (config.origin ?? config.zones[0]!).toLowerCase().replace(/\.$/, '');
  if (![...config.zones, 'in-addr.arpa', 'ip6.arpa'].includes(origin)) throw new ConfigError(`--origin ${origin} is not a served zone`);
  process.stdout.write(zoneFile(index, { zones: config.zones, origin, ttl: config.ttl }));
}

const COMMANDS: readonly Command[] = ['serve', 'zone', 'webhook', 'env', 'certs'];
const isCommand = (word: string | undefined): word is Command => COMMANDS.includes(word as Command);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const sub = rest[0];
    if (isCommand(sub)) console.log(`Usage: cluster-dns ${sub} [flags]\n\n${helpText(sub)}`);
    else console.log(USAGE);
    return 0;
  }
  if (command === 'version' || command === '--version') {
    console.log(VERSION);
    return 0;
  }
  if (isCommand(command) && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(`Usage: cluster-dns ${command} [flags]\n\n${helpText(command)}`);
    return 0;
  }
  if (command === 'import-corefile') return (await import('./corefile/command.js')).importCorefileCommand(rest);
  if (command === 'serve') return (await import('./run.js')).serve(rest);
  if (command === 'webhook') {
    const config = loadConfig('webhook', rest);
    await (await import('./webhook/run.js')).runWebhook(config, createLogger(config.logLevel));
    return 0;
  }
  if (command === 'env') {
    const config = loadConfig('env', rest);
    await (await import('./env/command.js')).envCommand(config, createLogger(config.logLevel));
    return 0;
  }
  if (command === 'certs') {
    await (await import('./certs/command.js')).certsCommand(loadConfig('certs', rest));
    return 0;
  }
  if (command === 'zone') {
    await zone(rest);
    return 0;
  }
  console.error(`cluster-dns: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
  },
  (err: unknown) => {
    const known = err instanceof ConfigError || err instanceof ManifestError;
    const brief = known || err instanceof ListenError;
    console.error(`cluster-dns: ${brief ? (err as Error).message : ((err as Error).stack ?? String(err))}`);
    process.exitCode = known ? 2 : 1;
  },
);
