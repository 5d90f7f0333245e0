// A reader for CoreDNS's Corefile (the Caddyfile syntax): server blocks, each a list of keys (`.:53`,
// `example.com:53`) and a body of directives; a directive is a name and its arguments on one line, optionally
// followed by a `{ ... }` block of sub-directives. Comments start with `#`; arguments may be double-quoted.
// Snippets, `(name) { ... }`, are expanded where `import name` uses them; importing files is not supported.
// A file whose only server block has no braces (`.:53` on the first line, directives below) is accepted too.

import { CorefileError } from '../base/errors.js';
export { CorefileError };

export interface Directive {
  name: string;
  args: string[];
  /** The `{ ... }` block after the arguments, if any. */
  block: Directive[] | undefined;
  line: number;
}

export interface ServerBlock {
  keys: string[];
  directives: Directive[];
  line: number;
}

interface Token {
  text: string;
  line: number;
  quoted: boolean;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"') {
      const start = line;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new CorefileError(`line ${start}: unterminated quoted string`);
        const q = text[i]!;
        if (q === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) {
          value += text[i + 1];
          i += 2;
        } else if (q === '"') {
          i++;
          break;
        } else {
          if (q === '\n') line++;
          value += q;
          i++;
        }
      }
      tokens.push({ text: value, line: start, quoted: true });
    } else {
      let value = '';
      while (i < text.length && !/[\s"]/.test(text[i]!)) value += text[i++];
      tokens.push({ text: value, line, quoted: false });
    }
  }
  return tokens;
}

const isOpen = (t: Token | undefined): boolean => t !== undefined && !t.quoted && t.text === '{';
const isClose = (t: Token | undefined): boolean => t !== undefined && !t.quoted && t.text === '}';

class Parser {
  private pos = 0;
  private readonly snippets = new Map<string, Directive[]>();

  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }

  /** Directives up to the matching `}` (consumed), or to the end of input when `toEnd`. */
  private body(openedAt: number | undefined, toEnd = false): Directive[] {
    const out: Directive[] = [];
    for (;;) {
      const t = this.peek();
      if (t === undefined) {
        if (toEnd) return out;
        throw new CorefileError(`line ${openedAt}: block opened here is never closed`);
      }
      if (isClose(t)) {
        if (toEnd) throw new CorefileError(`line ${t.line}: unexpected }`);
        this.pos++;
        return out;
      }
      if (isOpen(t)) throw new CorefileError(`line ${t.line}: unexpected {`);
      this.pos++;
      const d: Directive = { name: t.text, args: [], block: undefined, line: t.line };
      // Arguments: the rest of the directive's line, up to a `{` (a block) or a `}` (the end of the enclosing one).
      while (this.peek() && this.peek()!.line === t.line && !isOpen(this.peek()) && !isClose(this.peek())) d.args.push(this.tokens[this.pos++]!.text);
      if (isOpen(this.peek()) && this.peek()!.line === t.line) {
        const open = this.tokens[this.pos++]!;
        d.block = this.body(open.line);
      }
      if (d.name === 'import' && !t.quoted) out.push(...this.expandImport(d));
      else out.push(d);
    }
  }

  private expandImport(d: Directive): Directive[] {
    const name = d.args[0];
    const snippet = name === undefined ? undefined : this.snippets.get(name);
    if (snippet === undefined) throw new CorefileError(`line ${d.line}: import ${d.args.join(' ')}: only snippets defined earlier in the file, (name) { ... }, can be imported`);
    return snippet.map((s) => ({ ...s }));
  }

  parse(): ServerBlock[] {
    const blocks: ServerBlock[] = [];
    while (this.peek() !== undefined) {
      const first = this.peek()!;
      if (isOpen(first) || isClose(first)) throw new CorefileError(`line ${first.line}: expected server block keys, got ${first.text}`);
      const keys: string[] = [];
      while (this.peek() && this.peek()!.line === first.line && !isOpen(this.peek()) && !isClose(this.peek())) {
        keys.push(...this.tokens[this.pos++]!.text.split(',').filter((k) => k !== ''));
      }
      if (isOpen(this.peek()) && this.peek()!.line === first.line) {
        this.pos++;
        const snippet = /^\((.+)\)$/.exec(keys[0] ?? '');
        if (snippet && keys.length === 1) this.snippets.set(snippet[1]!, this.body(first.line));
        else blocks.push({ keys, directives: this.body(first.line), line: first.line });
      } else if (blocks.length === 0 && this.snippets.size === 0) {
        // A lone server block without braces: its keys on the first line, everything after is its body.
        blocks.push({ keys, directives: this.body(undefined, true), line: first.line });
      } else {
        throw new CorefileError(`line ${first.line}: expected { after the server block keys ${keys.join(' ')}`);
      }
    }
    return blocks;
  }
}

export function parseCorefile(text: string): ServerBlock[] {
  return new Parser(tokenize(text)).parse();
}

export interface ServerKey {
  /** `dns` unless the key names another transport (`tls://`, `https://`, `grpc://`, `quic://`). */
  scheme: string;
  /** Lower case, no trailing dot; `.` for the root. A reverse CIDR key (`10.0.0.0/8`) is kept as written. */
  zone: string;
  port: number;
}

/** `.:53`, `dns://example.com:1053`, `example.com.` (port 53), `[::1]` is not a zone and is refused. */
export function parseServerKey(key: string): ServerKey {
  let rest = key;
  let scheme = 'dns';
  const s = /^([a-z0-9+.-]+):\/\//i.exec(rest);
  if (s) {
    scheme = s[1]!.toLowerCase();
    rest = rest.slice(s[0].length);
  }
  let port = 53;
  const p = /^(.*):(\d+)$/.exec(rest);
  if (p) {
    rest = p[1]!;
    port = Number(p[2]);
  }
  if (rest === '' || rest.includes('[')) throw new CorefileError(`server block key ${JSON.stringify(key)}: want ZONE[:PORT]`);
  const zone = rest === '.' ? '.' : rest.toLowerCase().replace(/\.$/, '');
  return { scheme, zone, port };
}

/** A Go duration (`5s`, `500ms`, `1m30s`, `1h`) in milliseconds; a bare number counts as seconds, as CoreDNS's TTLs do. */
export function parseDuration(text: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  if (rest === '') throw new CorefileError('empty duration');
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw new CorefileError(`${JSON.stringify(text)} is not a duration (like 5s, 500ms, 1m)`);
    total += Number(m[1]) * unit[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}
