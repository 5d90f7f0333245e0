// `npm run bench`: cluster-dns against CoreDNS and NSD on this machine, in one run. Progress goes to stderr,
// the report to stdout. Targets are reported MET or MISSED; only a failure to run exits non-zero.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseOptions, USAGE, UsageError } from './options.js';
import { type BenchResult, evaluateTargets, formatReport } from './report.js';
import { runBench } from './run.js';

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const reportAt = argv.indexOf('--report');
  if (reportAt !== -1) {
    // Re-print a saved run (--json) with this version's tables and target rules.
    const file = argv[reportAt + 1];
    if (file === undefined) {
      process.stderr.write('bench: --report needs the JSON file of a run\n');
      return 2;
    }
    const saved = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
    saved.targets = evaluateTargets(saved);
    process.stdout.write(formatReport(saved));
    return 0;
  }
  let options;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const command = ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' ');
  const result = await runBench(options, (line) => process.stderr.write(`${line}\n`), command);
  process.stdout.write(formatReport(result));
  if (options.json !== undefined) writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
