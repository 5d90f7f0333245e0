// Mocha adds files named on the command line to the config's `spec` instead of replacing it: without this,
// `npx mocha dist/test/unit/foo.test.js` would run the whole suite (and start the real node). Named files or globs
// replace the default spec; with none, everything runs, as `npm test` does.
const { existsSync, readdirSync } = require('node:fs');

const named = process.argv.slice(2).some((arg) => !arg.startsWith('-') && /(\.test\.js|\*)/.test(arg));

// The real-node suites share one node; cli.test.js stops it to start nodes of its own, so it runs first, before
// the shared node exists, instead of costing a second start of it later on.
const nodeDir = 'dist/test/node';
const nodeSuites = existsSync(nodeDir) ? readdirSync(nodeDir).filter((f) => f.endsWith('.test.js')).sort((a, b) => (a === 'cli.test.js' ? -1 : b === 'cli.test.js' ? 1 : a.localeCompare(b))) : [];

module.exports = {
  spec: named ? [] : ['dist/test/unit/**/*.test.js', 'dist/test/integration/**/*.test.js', ...nodeSuites.map((f) => `${nodeDir}/${f}`)],
  require: ['dist/test/cluster/root-hooks.js'],
  timeout: 20000,
  exit: true,
};
