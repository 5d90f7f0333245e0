// DNS wire constants (RFC 1035, 3596, 2782, 6891, 8914). Only what the server reads or writes.

export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const CLASS_IN = 1;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended rcode 16 (RFC 6891 §6.1.3): only expressible with an OPT record. */
  BADVERS: 16,
} as const;

export const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  16: 'BADVERS',
};

export const OPCODE_QUERY = 0;

/** Header flag bits in the second 16-bit word. */
export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

export const HEADER_SIZE = 12;

/** RFC 1035 §4.2.1: the UDP payload limit without EDNS. */
export const CLASSIC_UDP_SIZE = 512;

/**
 * The largest UDP payload we send, whatever the client advertises: 1232 avoids IP fragmentation on
 * any IPv6 path (DNS Flag Day 2020) and is what CoreDNS, BIND and Unbound default to.
 */
export const MAX_UDP_PAYLOAD = 1232;

/** RFC 8914 extended DNS error codes we emit. */
export const EdeCode = {
  OTHER: 0,
  NOT_READY: 14,
} as const;

/** EDNS option code of Extended DNS Errors (RFC 8914). */
export const OPTION_EDE = 15;

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(RRType).map(([name, value]) => [value, name]),
);

export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`;
}

export function typeFromName(name: string): number | undefined {
  const upper = name.toUpperCase();
  if (upper in RRType) return RRType[upper as keyof typeof RRType];
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  return m ? Number(m[1]) : undefined;
}
