// --autopath, the answer shape: what the client gets for the name it asked when the server walked the rest
// of its search path. Pure. Facts from CoreDNS's autopath (plugin/autopath/cname.go): the found answer goes
// back under the asked question with a CNAME in front, from the asked name to the owner of the first record
// that is not the asked name, with that record's TTL; the found reply's flags and other sections are kept.
// Where the walk found no records, the asked name's own negative answer is used (see docs/dns-behaviour.md).
import { Rcode } from '../dns/constants.js';
import type { Reply } from '../dns/message.js';
import { cnameRR } from '../records/rr.js';

/** `found` answered a later name of the search path with records: the reply for `asked`. */
export function completedReply(asked: string, found: Reply): Reply {
  const first = found.answer.find((rr) => rr.name.toLowerCase() !== asked.toLowerCase());
  const answer = first ? [cnameRR(asked, first.ttl, first.name), ...found.answer] : found.answer;
  // No replayFor: the fast path must never give this answer to another client.
  return {
    rcode: Rcode.NOERROR,
    authoritative: found.authoritative,
    truncated: found.truncated,
    recursionAvailable: found.recursionAvailable,
    authenticData: found.authenticData,
    answer,
    authority: found.authority,
    additional: found.additional,
    source: found.source,
    perClient: true,
  };
}

/**
 * The first name that exists has no records of the asked type. No CNAME: glibc's search stops at the first
 * reply with any answer record, so a bare CNAME would end it where the client's own search would go on (a
 * NODATA keeps it searching). The asked name's SOA (our zone's), not the found name's: the negative answer
 * is about the asked name, and it keeps our zone's short negative TTL.
 */
export function nodataReply(askedNx: Reply): Reply {
  return { ...askedNx, rcode: Rcode.NOERROR, perClient: true };
}

/** The asked name's own answer, marked so the fast path does not keep it for clients autopath treats otherwise. */
export const perClient = (reply: Reply): Reply => ({ ...reply, perClient: true });
