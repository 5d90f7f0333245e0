// IP address text ↔ bytes, in the canonical forms Go's net.IP.String() prints (what CoreDNS and the
// EndpointSlice controller use): dotted quad, and RFC 5952 compressed lower-case IPv6.
import { isIPv4, isIPv6 } from 'node:net';

export interface ParsedIP {
  family: 4 | 6;
  bytes: Uint8Array;
  /** Canonical text form; IPv4-mapped IPv6 addresses become dotted quads, as Go does. */
  text: string;
}

function v4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

function v6Bytes(text: string): Uint8Array {
  let s = text;
  const out = new Uint8Array(16);
  // An embedded dotted quad in the last 32 bits (::ffff:1.2.3.4).
  const lastColon = s.lastIndexOf(':');
  const tail = s.substring(lastColon + 1);
  let tailBytes: Uint8Array | undefined;
  if (tail.includes('.')) {
    tailBytes = v4Bytes(tail);
    s = s.substring(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups =
    rest === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (tailBytes) out.set(tailBytes, 12);
  return out;
}

/** RFC 5952 §4: lower case, no leading zeros, the longest run (≥2) of zero groups as '::', first run on ties. */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function parseIP(text: string): ParsedIP | undefined {
  if (isIPv4(text)) {
    const bytes = v4Bytes(text);
    // Go rejects leading zeros ("010.0.0.1"), and so does node's isIPv4; the text is already canonical.
    return { family: 4, bytes, text };
  }
  if (isIPv6(text) && !text.includes('%')) {
    const bytes = v6Bytes(text);
    const canonical = formatIPv6(bytes);
    if (canonical.includes('.')) return { family: 4, bytes: bytes.subarray(12), text: canonical };
    return { family: 6, bytes, text: canonical };
  }
  return undefined;
}

/**
 * The canonical text of an address, or undefined when it is none: parseIP's `text` without its bytes. A dotted
 * quad node accepts is already canonical, so it comes back as it is, allocating nothing (the first listing of a
 * large cluster converts hundreds of thousands of addresses).
 */
export function canonicalIP(text: string): string | undefined {
  return isIPv4(text) ? text : parseIP(text)?.text;
}

/** The PTR owner name of an address, without the trailing dot (RFC 1035 §3.5, RFC 3596 §2.5). */
export function reverseName(ip: ParsedIP): string {
  if (ip.family === 4) return `${ip.bytes[3]}.${ip.bytes[2]}.${ip.bytes[1]}.${ip.bytes[0]}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) {
    const b = ip.bytes[i]!;
    nibbles.push((b & 0xf).toString(16), (b >> 4).toString(16));
  }
  return `${nibbles.join('.')}.ip6.arpa`;
}

/**
 * The address a reverse name stands for, or undefined for partial or malformed names. The labels in front of
 * `in-addr.arpa` / `ip6.arpa` (lower-case, without the zone) must spell a whole address, as CoreDNS requires.
 */
export function addressFromReverse(labels: string, family: 4 | 6): string | undefined {
  const parts = labels.split('.').reverse();
  if (family === 4) {
    if (parts.length !== 4) return undefined;
    return parseIP(parts.join('.'))?.text;
  }
  // As CoreDNS's dnsutil.ExtractAddressFromReverse: the first 32 nibbles make the address and up to three labels
  // in front of them are ignored (it joins len/4 groups of four), so `www.<32 nibbles>.ip6.arpa` names one too.
  if (parts.length < 32 || parts.length > 35 || !parts.slice(0, 32).every((p) => /^[0-9a-f]$/.test(p))) return undefined;
  const groups: string[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(parts.slice(i, i + 4).join(''));
  return parseIP(groups.join(':'))?.text;
}

/** CoreDNS's endpoint name for an address without a hostname: separators become dashes, a trailing '-' gets a '0'. */
export function dashedIP(canonical: string): string {
  const dashed = canonical.replace(/[.:]/g, '-');
  return dashed.endsWith('-') ? `${dashed}0` : dashed;
}
