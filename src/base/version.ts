// The version in package.json (dist/src/base/version.js → the package root), read once for `version` and the build-info metric.
import fs from 'node:fs';

export const VERSION: string = (JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
