#!/usr/bin/env -S node --max-semi-space-size=1 --expose-gc
// Command-line entry: `cluster-dns serve | zone | webhook | env | certs | help | version`.
// Each command's modules are imported when it runs: `serve` starts sooner without the webhook, certificate and
// Corefile code, and those commands without the DNS server.
import { VERSION } from './base/version.js';
import { exitReport } from './base/errors.js';
import { type Command, helpText, loadConfig } from './config/config.js';
import { createLogger } from './base/log.js';


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

/** Every command, loaded when it runs. Each returns its exit code (`serve` keeps the process alive). */
const RUN: Record<string, (argv: string[]) => Promise<number>> = {
  serve: async (argv) => (await import('./commands/serve.js')).serve(argv),
  zone: async (argv) => (await import('./commands/zone.js')).zoneCommand(argv),
  'import-corefile': async (argv) => (await import('./commands/import-corefile.js')).importCorefileCommand(argv),
  webhook: async (argv) => {
    const config = loadConfig('webhook', argv);
    await (await import('./commands/webhook.js')).runWebhook(config, createLogger(config.logLevel));
    return 0;
  },
  env: async (argv) => {
    const config = loadConfig('env', argv);
    await (await import('./commands/env.js')).envCommand(config, createLogger(config.logLevel));
    return 0;
  },
  certs: async (argv) => {
    await (await import('./commands/certs.js')).certsCommand(loadConfig('certs', argv));
    return 0;
  },
};

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
  const run = Object.hasOwn(RUN, command) ? RUN[command] : undefined;
  if (run) return run(rest);
  console.error(`cluster-dns: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
  },
  (err: unknown) => {
    // The exit status and whether a stack is printed follow the error's code (base/errors.ts).
    const { text, exit } = exitReport(err);
    console.error(`cluster-dns: ${text}`);
    process.exitCode = exit;
  },
);
