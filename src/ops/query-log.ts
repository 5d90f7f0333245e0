// --log-queries (CoreDNS `log`): one line per answered query. While it is on the fast path is off, so every
// query takes the full path and is seen here decoded.
import type { Logger } from '../base/log.js';
import { RCODE_NAMES, typeName } from '../dns/constants.js';
import type { QueryEvent } from '../dns/exchange.js';

export function queryLog(log: Logger): (e: QueryEvent) => void {
  return (e) => {
    if (e.kind !== 'answered') return;
    log.info('query', {
      client: e.client.address,
      proto: e.proto,
      name: e.query.name,
      type: typeName(e.query.type),
      rcode: RCODE_NAMES[e.reply.rcode] ?? e.reply.rcode,
      size: e.size,
      durationMs: Number(process.hrtime.bigint() - e.started) / 1e6,
    });
  };
}
