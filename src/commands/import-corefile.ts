// `cluster-dns import-corefile [FILE|-]`: the YAML config on stdout, one line per directive it cannot carry over
// on stderr. Exit 0 when the Corefile was read (whatever was left out), 2 when it cannot be read or parsed.
import fs from 'node:fs';
import { ConfigError } from '../config/config.js';
import { CorefileError, importCorefile } from '../corefile/import.js';

export const IMPORT_COREFILE_USAGE = `Usage: cluster-dns import-corefile [FILE|-]

Reads a CoreDNS Corefile (FILE, or standard input when FILE is - or absent) and prints the equivalent
cluster-dns config file (for --config) on standard output. Every directive, or option of one, that cannot be
carried over is named on standard error with its line. For a cluster's own CoreDNS:

  kubectl -n kube-system get configmap coredns -o jsonpath='{.data.Corefile}' | cluster-dns import-corefile - > config.yaml`;

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (text += c));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

export async function importCorefileCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(IMPORT_COREFILE_USAGE);
    return 0;
  }
  const bad = argv.find((a) => a.startsWith('-') && a !== '-');
  if (bad !== undefined || argv.length > 1) {
    throw new ConfigError(`import-corefile: ${bad !== undefined ? `unknown argument ${JSON.stringify(bad)}` : 'one Corefile at a time'} (see cluster-dns import-corefile --help)`);
  }
  const file = argv[0] ?? '-';
  let text: string;
  try {
    text = file === '-' ? await readAll(process.stdin) : fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`import-corefile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const source = file === '-' ? 'stdin' : file;
  try {
    const result = importCorefile(text, source);
    process.stdout.write(result.yaml);
    for (const line of result.notCarried) process.stderr.write(`not carried over: ${line}\n`);
  } catch (err) {
    if (err instanceof CorefileError) throw new ConfigError(`import-corefile: ${source}: ${err.message}`);
    throw err;
  }
  return 0;
}
