// `cluster-dns zone`: the records `serve` would answer with, printed as a zone file. One full read of the
// source (no watch), then the same index the server builds.
import { ConfigError, NotSyncedError } from '../base/errors.js';
import { loadConfig } from '../config/config.js';
import { createLogger } from '../base/log.js';
import { ZoneIndex } from '../records/zone-index.js';
import { zoneFile } from '../resolve/zone-file.js';
import { dnsKinds, startSource, waitForSync } from '../sources/index.js';

export async function zoneCommand(argv: string[]): Promise<number> {
  const config = loadConfig('zone', argv);
  const log = createLogger(config.logLevel);
  const { state, source } = await startSource(config, log, { watch: false, kinds: dnsKinds(config.pods) });
  const index = new ZoneIndex(state, { endpointPodNames: config.endpointPodNames, ignoreEmptyService: config.ignoreEmptyService });
  index.deferUntil(source.whenSynced());
  if (!(await waitForSync(source, 60_000))) throw new NotSyncedError('the source did not sync within 60 s');
  source.stop();
  const origin = (config.origin ?? config.zones[0]!).toLowerCase().replace(/\.$/, '');
  if (![...config.zones, 'in-addr.arpa', 'ip6.arpa'].includes(origin)) throw new ConfigError(`--origin ${origin} is not a served zone`);
  process.stdout.write(zoneFile(index, { zones: config.zones, origin, ttl: config.ttl }));
  return 0;
}
