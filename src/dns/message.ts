// The decoded query and the reply model that the resolver produces and the encoder writes.
// Names are dot-separated without the trailing dot; the root is ''.

export interface Edns {
  /** Requestor's UDP payload size (RFC 6891 §6.2.3), at least 512 once normalised. */
  udpSize: number;
  version: number;
  /** DNSSEC OK bit (RFC 3225); echoed in the reply. */
  dnssecOk: boolean;
}

export interface Query {
  id: number;
  /** The raw second header word, for RD/CD echo. */
  flags: number;
  /** Question name exactly as the client spelled it (0x20 case randomisation survives). */
  name: string;
  /** Lower-cased name: the lookup key. */
  lowerName: string;
  type: number;
  qclass: number;
  edns: Edns | undefined;
  /**
   * The query's wire bytes (from a decoded packet, the whole packet): its header and question, `raw[0, questionEnd)`,
   * are copied verbatim into the reply so the name's case is preserved.
   */
  raw: Uint8Array;
  /** Offset just past the question section in `raw`. */
  questionEnd: number;
}

export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** One resource record. Addresses are kept as text and as wire bytes (encoded once, when built). */
export type RR =
  | { name: string; type: 1 | 28; ttl: number; address: string; bytes: Uint8Array }
  | { name: string; type: 2 | 5 | 12; ttl: number; target: string }
  | { name: string; type: 33; ttl: number; srv: SrvData }
  | { name: string; type: 6; ttl: number; soa: SoaData }
  | { name: string; type: 16; ttl: number; texts: string[] }
  | { name: string; type: 15; ttl: number; mx: { preference: number; exchange: string } }
  /** Any other type, as received from an upstream: RDATA holds no compressible names, so it is copied as is. */
  | RawRR;

export interface RawRR {
  name: string;
  type: number;
  ttl: number;
  rclass: number;
  raw: Uint8Array;
}

export interface ExtendedError {
  code: number;
  text: string;
}

/** What a handler answers; the transport encodes it against the query it came from. */
export interface Reply {
  rcode: number;
  authoritative: boolean;
  /** Set when the answer was cut short upstream of the encoder (e.g. a truncated upstream reply). */
  truncated?: boolean;
  /**
   * A reply relayed fresh from an upstream: when it does not fit the client's size it goes out with TC and no
   * records at all, as the upstream itself answers a client with that size (CoreDNS's forward asks with the
   * client's size and relays that). Answers from memory are cut at a record boundary instead.
   */
  truncateWhole?: boolean;
  /**
   * RD and CD as the upstream's reply had them, for a fresh relay (CoreDNS's forward passes the upstream's
   * header on; NSD, for one, does not echo CD). Unset: the client's bits are echoed.
   */
  relayedFlags?: number;
  /**
   * The upstream's EDNS options (RDATA of its OPT), for a fresh relay without --cache-cap-replies: CoreDNS's
   * forward keeps the upstream's OPT (request.SizeAndDo), so an upstream's extended error reaches the client;
   * its cache plugin drops them.
   */
  relayedOptions?: Uint8Array;
  /** RA: set on replies relayed from a recursive upstream. */
  recursionAvailable?: boolean;
  /** AD: relayed from a validating upstream when the client asked with DO or AD. */
  authenticData?: boolean;
  answer: RR[];
  authority: RR[];
  additional: RR[];
  ede?: ExtendedError;
  /** Which part answered; observers turn it into CoreDNS's `plugin` label. */
  source?: ReplySource;
  /**
   * Set on a fresh forwarded answer: the whole seconds the fast path (dns/replay.ts) may replay its bytes,
   * counting its TTLs down. Cluster answers need no lifetime: they are replayed until the index changes.
   */
  replayFor?: number;
  /**
   * The answer depends on who asked (--autopath): the fast path never stores it, so every client's query is
   * decided afresh.
   */
  perClient?: boolean;
}

/** The part of the server that produced a reply: the cluster zones, an upstream, the forward cache, the loop detector. */
export type ReplySource = 'cluster' | 'forward' | 'cache' | 'loop';
