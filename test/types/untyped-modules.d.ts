// node-dig-dns ships no types; this is the part the tests use.
declare module 'node-dig-dns' {
  export default function dig(args: string[], options?: { raw?: boolean; dig?: string }): Promise<unknown>;
}

