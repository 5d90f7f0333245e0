// Mocha adds files named on the command line to the config's `spec` instead of replacing it: without this,
// `npx mocha dist/test/unit/foo.test.js` would run the whole suite (and start the real node). Named files or globs
// replace the default spec; with none, everything runs, as `npm test` does.
const named = process.argv.slice(2).some((arg) => !arg.startsWith('-') && /(\.test\.js|\*)/.test(arg));

module.exports = {
  spec: named ? [] : ['dist/test/unit/**/*.test.js', 'dist/test/integration/**/*.test.js', 'dist/test/node/**/*.test.js'],
  require: ['dist/test/cluster/root-hooks.js'],
  timeout: 20000,
  exit: true,
};
