// Settings for every command, from the one table (options.ts): flags beat environment variables
// (CLUSTER_DNS_<NAME>), which beat the YAML config file (--config), which beats the defaults. Values are
// validated eagerly and parsed once (addresses into net/address.ts values): a bad value stops start-up with a
// message naming where it came from.
import fs from 'node:fs';
import yaml from 'js-yaml';
import { ConfigError } from '../base/errors.js';
import { parseListenAddress, parseStubDomain, parseUpstream } from '../net/address.js';
import { type Command, type Config, OPTIONS, type OptionSpec } from './options.js';

export { ConfigError };
export { parseListenAddress, type ListenAddress } from '../net/address.js';
export { OPTIONS, type Command, type Config, type OptionSpec } from './options.js';

/** The table as plain specs, for code that walks every option. */
const TABLE: readonly OptionSpec[] = OPTIONS;


const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
export const envName = (flag: string): string => `CLUSTER_DNS_${flag.replace(/-/g, '_').toUpperCase()}`;

const ZONE_NAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** `where` names the setting as the user gave it: `--ttl`, `environment CLUSTER_DNS_TTL`, `config file f.yaml: ttl`. */
function convert(spec: OptionSpec, raw: unknown, where: string): unknown {
  switch (spec.kind) {
    case 'string':
      if (typeof raw !== 'string' || raw === '') throw new ConfigError(`${where}: want a non-empty string`);
      return raw;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === '') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(`${where}: want true or false, got ${JSON.stringify(raw)}`);
    case 'int': {
      const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw)) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < (spec.min ?? -Infinity) || n > (spec.max ?? Infinity)) {
        throw new ConfigError(`${where}: want an integer from ${spec.min} to ${spec.max}, got ${JSON.stringify(raw)}`);
      }
      return n;
    }
    case 'enum':
      if (!spec.values!.includes(String(raw))) throw new ConfigError(`${where}: want one of ${spec.values!.join(', ')}, got ${JSON.stringify(raw)}`);
      return String(raw);
    case 'addr':
      return parseListenAddress(String(raw), where);
    case 'listen':
      return String(raw) === 'off' ? null : parseListenAddress(String(raw), where);
    case 'list': {
      // A stub domain's own servers are comma-separated, so only zones split on commas.
      const raws = Array.isArray(raw) ? raw.map(String) : spec.item === 'zone' ? String(raw).split(',') : [String(raw)];
      if (spec.item === 'zone') {
        const items = raws.map((z) => z.trim().toLowerCase().replace(/\.$/, ''));
        for (const z of items) if (!ZONE_NAME.test(z)) throw new ConfigError(`${where}: ${JSON.stringify(z)} is not a domain name`);
        return items;
      }
      return raws.map((item) => {
        try {
          return spec.item === 'upstream' ? parseUpstream(item, where) : parseStubDomain(item.trim());
        } catch (err) {
          throw new ConfigError((err as Error).message.startsWith(where) ? (err as Error).message : `${where}: ${(err as Error).message}`);
        }
      });
    }
  }
}

/** Splits argv into flags; `--flag=value`, `--flag value`, and bare `--bool`. Unknown flags are errors. */
function parseFlags(command: Command, argv: string[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const spec = m ? TABLE.find((o) => o.name === m[1] && o.commands.includes(command)) : undefined;
    if (!m || !spec) throw new ConfigError(`unknown argument ${JSON.stringify(arg)} for '${command}' (see cluster-dns ${command} --help)`);
    let value: unknown = m[2];
    if (value === undefined) {
      if (spec.kind === 'bool') value = true;
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new ConfigError(`--${spec.name} needs a value`);
    }
    const converted = convert(spec, value, `--${spec.name}`);
    if (spec.kind === 'list' && out.has(spec.name)) out.set(spec.name, [...(out.get(spec.name) as string[]), ...(converted as string[])]);
    else out.set(spec.name, converted);
  }
  return out;
}

export function loadConfig(command: Command, argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const flags = parseFlags(command, argv);
  const configFile = (flags.get('config') as string | undefined) ?? env[envName('config')];
  let file: Record<string, unknown> = {};
  if (configFile) {
    let parsed: unknown;
    try {
      parsed = yaml.load(fs.readFileSync(configFile, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${configFile}: ${(err as Error).message.split('\n')[0]}`);
    }
    if (parsed !== undefined && parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new ConfigError(`config file ${configFile}: want a mapping of settings`);
    file = (parsed ?? {}) as Record<string, unknown>;
    const known = new Set(TABLE.map((o) => camel(o.name)));
    for (const key of Object.keys(file)) if (!known.has(key)) throw new ConfigError(`config file ${configFile}: unknown setting ${JSON.stringify(key)}`);
  }
  const result: Record<string, unknown> = { command };
  for (const spec of TABLE) {
    let value: unknown;
    if (flags.has(spec.name)) value = flags.get(spec.name);
    else if (env[envName(spec.name)] !== undefined) value = convert(spec, env[envName(spec.name)], `environment ${envName(spec.name)}`);
    else if (file[camel(spec.name)] !== undefined) value = convert(spec, file[camel(spec.name)], `config file ${configFile}: ${camel(spec.name)}`);
    else value = (spec.kind === 'addr' || spec.kind === 'listen') && spec.default !== undefined ? parseListenAddress(String(spec.default)) : spec.default;
    if (value === null) value = undefined; // a listener turned off
    if (value !== undefined) result[spec.key ?? camel(spec.name)] = value;
  }
  // Every option of the table was read above, and `convert` gave each the type its kind has in Config.
  const config = result as Config;
  config.zones = [...new Set(config.zones)];
  if (config.kubeconfig && config.manifests) throw new ConfigError('--kubeconfig and --manifests are alternatives: give one source');
  for (const { domain } of config.stubDomains) {
    const zone = config.zones.find((z) => domain === z || domain.endsWith(`.${z}`));
    if (zone) throw new ConfigError(`--stub-domain ${domain}: names in the cluster zone ${zone} are never forwarded`);
  }
  return config;
}

export function helpText(command: Command): string {
  const lines = TABLE.filter((o) => o.commands.includes(command)).map((o) => {
    const flag = `--${o.name}${o.kind === 'bool' ? '' : o.kind === 'enum' ? ` ${o.values!.join('|')}` : o.kind === 'listen' ? ' HOST:PORT|off' : ' VALUE'}`;
    const def = o.default !== undefined && o.default !== false ? ` (default ${Array.isArray(o.default) ? o.default.join(',') : o.default})` : '';
    return `  ${flag.padEnd(44)} ${o.help}${def}\n  ${''.padEnd(44)} env ${envName(o.name)}`;
  });
  return lines.join('\n');
}
