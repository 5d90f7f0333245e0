// Sanity checks around the measurements: a server must answer a few known names right before it is measured, and
// servers given the same query file must answer it with the same rcodes, or the comparison means nothing.
import { askOnce, TYPE } from './dns-poll.js';
import type { GenService } from './generate.js';
import { OUTSIDE_ZONE, reverseName } from './queries.js';
import { CLUSTER_DNS, type RunRow } from './report.js';
import type { Server } from './servers.js';

const SETTLE_MS = 15_000;

/**
 * Queries a server for a few names whose answers the generator fixed. A wrong answer is asked again for up to 15 s
 * (a SERVFAIL right after start is cached for a few seconds) and reported in `warnings` with how long it lasted;
 * still wrong after that, it throws: measuring a server that answers wrongly means nothing.
 */
export async function checkServer(server: Server, services: GenService[], outside: boolean, warnings: string[] = []): Promise<void> {
  const problems: string[] = [];
  const t0 = performance.now();
  const expect = async (name: string, type: number, ok: (rcode: number, addrs: string[], an: number) => boolean, want: string): Promise<void> => {
    let first: string | undefined;
    for (;;) {
      const reply = await askOnce(server.port, name, type, 1000);
      const wrong = reply === undefined ? 'no reply'
        : ok(reply.rcode, reply.addresses, reply.answers) ? undefined
        : `rcode ${reply.rcode}, ${reply.answers} answers (${reply.addresses.join(' ')})`;
      if (wrong === undefined) {
        if (first !== undefined) {
          warnings.push(`${server.label}: ${name} ${type} answered ${first} (want ${want}) until ${((performance.now() - t0) / 1000).toFixed(1)} s after it was ready`);
        }
        return;
      }
      first ??= wrong;
      if (performance.now() - t0 > SETTLE_MS) {
        problems.push(`${name} ${type}: ${wrong}; want ${want}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const svc = services.find((s) => !s.headless && s.clusterIP !== undefined);
  const headless = services.find((s) => s.headless);
  if (svc !== undefined) {
    const fq = `${svc.name}.${svc.namespace}.svc.cluster.local`;
    await expect(fq, TYPE.A, (rc, a) => rc === 0 && a.length === 1 && a[0] === svc.clusterIP, svc.clusterIP!);
    await expect(fq, TYPE.AAAA, (rc, _a, an) => rc === 0 && an === 0, 'NODATA');
    await expect(reverseName(svc.clusterIP!), TYPE.PTR, (rc, _a, an) => rc === 0 && an === 1, 'one PTR');
    await expect(`x.${svc.namespace}.svc.cluster.local`, TYPE.A, (rc) => rc === 3, 'NXDOMAIN');
  }
  if (headless !== undefined) {
    await expect(`${headless.name}.${headless.namespace}.svc.cluster.local`, TYPE.A, (rc, a) => rc === 0 && a.length === headless.endpoints.length, `${headless.endpoints.length} addresses`);
  }
  if (outside) await expect(`www0.${OUTSIDE_ZONE}`, TYPE.A, (rc, a) => rc === 0 && a.length === 1, 'one address');
  if (problems.length > 0) throw new Error(`${server.label} answers wrongly (log: ${server.logPath}):\n  ${problems.join('\n  ')}`);
}

/** Warns when servers answered the same query file with different rcode shares, or lost many queries. */
export function compareRcodes(runs: RunRow[], warnings: string[]): void {
  for (const ours of runs.filter((r) => r.server === CLUSTER_DNS)) {
    const share = (r: RunRow, code: string): number => (r.rcodes[code] ?? 0) / Math.max(1, r.completed);
    for (const other of runs.filter((r) => r !== ours && r.size === ours.size && r.set === ours.set && r.proto === ours.proto)) {
      const codes = new Set([...Object.keys(ours.rcodes), ...Object.keys(other.rcodes)]);
      const diff = [...codes].filter((c) => Math.abs(share(ours, c) - share(other, c)) > 0.01);
      if (diff.length > 0) {
        const show = (r: RunRow): string => Object.entries(r.rcodes).map(([c, n]) => `${c} ${((n / Math.max(1, r.completed)) * 100).toFixed(1)}%`).join(', ');
        warnings.push(`${ours.size} ${ours.set} ${ours.proto}: rcodes differ: ${CLUSTER_DNS} ${show(ours)}; ${other.server} ${show(other)}`);
      }
    }
  }
  for (const r of runs) {
    if (r.lost > Math.max(50, r.completed * 0.001)) warnings.push(`${r.size} ${r.set} ${r.proto} ${r.server}: ${r.lost} queries lost`);
    if ((r.rcodes.SERVFAIL ?? 0) > 0) warnings.push(`${r.size} ${r.set} ${r.proto} ${r.server}: ${r.rcodes.SERVFAIL} SERVFAIL`);
  }
}
