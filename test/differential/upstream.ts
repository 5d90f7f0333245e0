// The outside world of the differential suite: two NSD servers on loopback that both CoreDNS and cluster-dns
// forward to. The main one serves example.test (plain answers, a CNAME chain, an answer too big for 512 and
// 1232 bytes, a TTL below CoreDNS's 5 s cache minimum, NXDOMAIN) and a reverse zone; anything else it answers
// REFUSED. The second one serves only stub.test, for the stub-domain server block.
import { type Nsd, startNsd } from '../helpers/nsd.js';

const SOA = (origin: string): string => `$ORIGIN ${origin}.
$TTL 300
@ IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60
@ IN NS ns.example.test.
`;

const EXAMPLE = `${SOA('example.test')}ns IN A 127.0.0.1
www IN A 192.0.2.10
www IN AAAA 2001:db8::10
www IN TXT "hello" "world"
www IN MX 10 mail.example.test.
mail 120 IN A 192.0.2.25
alias IN CNAME www.example.test.
chain 200 IN CNAME alias.example.test.
short 3 IN A 192.0.2.3
long 86400 IN A 192.0.2.86
${Array.from({ length: 100 }, (_, i) => `big IN A 192.0.2.${i + 100}`).join('\n')}
${Array.from({ length: 40 }, (_, i) => `mid IN A 198.51.100.${i + 1}`).join('\n')}
`;

const REVERSE = `${SOA('2.0.192.in-addr.arpa')}10 IN PTR www.example.test.
25 IN PTR mail.example.test.
`;

const STUB = `${SOA('stub.test')}app IN A 203.0.113.7
app IN AAAA 2001:db8::7
`;

/** Outside names the query generator asks about, and ExternalName targets point at. */
export const OUTSIDE_NAMES = [
  'www.example.test', 'alias.example.test', 'chain.example.test', 'big.example.test', 'mid.example.test', 'short.example.test',
  'long.example.test', 'mail.example.test', 'nope.example.test', 'example.test', 'x.refused.test', 'app.stub.test', 'nope.stub.test',
  '10.2.0.192.in-addr.arpa', '99.2.0.192.in-addr.arpa',
];

export interface Upstreams {
  main: Nsd;
  stub: Nsd;
  stop(): Promise<void>;
}

export async function startUpstreams(): Promise<Upstreams> {
  const main = await startNsd({ 'example.test': EXAMPLE, '2.0.192.in-addr.arpa': REVERSE });
  const stub = await startNsd({ 'stub.test': STUB }).catch(async (err: unknown) => {
    await main.stop();
    throw err;
  });
  return { main, stub, stop: async () => void (await Promise.all([main.stop(), stub.stop()])) };
}
