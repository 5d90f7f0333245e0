// `npm run e2e`: Kubernetes' own `[sig-network] DNS` e2e specs on the real test node (test/cluster/node/), first
// against CoreDNS as the node starts it (kubeadm's Deployment and Corefile), then against cluster-dns after
// `scripts/kind-swap.sh in --no-build`. The same specs must pass on both.
//
// What it runs: e2e.test, built by `test/cluster/build-binaries.sh e2e` from test/e2e/suite (the upstream e2e entry
// point with the sig-network specs of the same k8s.io/kubernetes version as the node), with
//   --ginkgo.focus='\[sig-network\] DNS' --ginkgo.skip='\[Serial\]|\[Slow\]|\[Feature:|\[Provider:'
// (E2E_FOCUS / E2E_SKIP override them). The skipped ones rewrite the cluster's DNS ConfigMap, need a cloud provider
// or resolve public names: the node has no route off the machine, by design. Its images (agnhost, jessie-dnsutils
// under their upstream names) come from `test/cluster/build-images.sh e2e` and are imported with the node's others.
//
// Output: a line per phase, a line per spec that did not pass (`e2e dns: <server>: FAILED|TIMED OUT <spec>: ...`),
// and last exactly one line `e2e dns: coredns P passed F failed; cluster-dns P passed F failed`. Exit status 0 only if
// every spec passed on both servers (and the same number ran on each). A missing image, a node (or CoreDNS) that does
// not start, a swap that fails or a phase that runs out of time ends the run with one line naming it, status 1.
// Reports (Ginkgo JSON, JUnit, the e2e log, the spec list) go to E2E_REPORT_DIR (default
// $CLUSTER_DNS_CACHE/e2e/reports/<timestamp>). The whole run is bounded by E2E_TIMEOUT_MINUTES (default 75).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binaryPath, CACHE_DIR, KUBE_VERSION } from '../cluster/binaries.js';
import { startNodeCluster, type NodeCluster } from '../cluster/node/cluster.js';
import { fullImageName } from '../cluster/node/images.js';
import { CLUSTER_DNS_IP, UPSTREAM_ZONE } from '../cluster/node/layout.js';
import { NodeSetupError } from '../cluster/node/network.js';
import { ManagedProcess } from '../cluster/process.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const KUBE_BIN = join(CACHE_DIR, `kube-${KUBE_VERSION}`, 'bin');
const E2E_TEST = process.env.E2E_TEST ?? join(KUBE_BIN, 'e2e.test');
const FOCUS = process.env.E2E_FOCUS ?? '\\[sig-network\\] DNS';
const BASE_SKIP = process.env.E2E_SKIP ?? '\\[Serial\\]|\\[Slow\\]|\\[Feature:|\\[Provider:';
/**
 * The one spec whose pod queries the cluster DNS address from the node's own network namespace (hostNetwork with
 * dnsPolicy ClusterFirstWithHostNet). A socket there needs a route to the Service range before kube-proxy's OUTPUT
 * DNAT can apply; a kind node has its default route, this node has none (by design) and, unless the harness gives
 * the namespace a route for the Service range, dig fails with "network unreachable". Skipped, with a line saying so,
 * only while the node lacks that route (and E2E_SKIP is not set: a skip given by hand is used as it is).
 */
const HOST_NETWORK_SPEC = 'should resolve DNS of partial qualified names for services on hostNetwork pods with dnsPolicy: ClusterFirstWithHostNet';
let SKIP = BASE_SKIP;
/** The images the DNS specs run (test/utils/image/manifest.go of KUBE_VERSION); the sandbox image the node has anyway. */
const E2E_IMAGES = ['registry.k8s.io/e2e-test-images/agnhost:2.59', 'registry.k8s.io/e2e-test-images/jessie-dnsutils:1.7'];
const TOTAL_MS = Number(process.env.E2E_TIMEOUT_MINUTES ?? '75') * 60_000;
/** The longest one server's specs may take (they run one after another; most take 10-60 s). */
const PHASE_MS = Number(process.env.E2E_PHASE_TIMEOUT_MINUTES ?? '30') * 60_000;
/** How long to wait for another run's real node (only one fits the machine) before giving up. */
const NODE_WAIT_MS = 20 * 60_000;

const started = Date.now();
const deadline = started + TOTAL_MS;
const say = (line: string): void => void process.stderr.write(`e2e dns: ${line}\n`);
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`;

class RunError extends Error {}

interface SpecResult {
  name: string;
  state: string;
  seconds: number;
  message: string;
  /** A suite-level node (BeforeSuite, AfterSuite...) that failed: printed, not counted as a spec. */
  setup?: boolean;
}

interface GinkgoReport {
  SpecReports?: Array<{
    ContainerHierarchyTexts?: string[] | null;
    LeafNodeText?: string;
    LeafNodeType?: string;
    State?: string;
    RunTime?: number;
    Failure?: { Message?: string; FailureNodeType?: string; Location?: { FileName?: string; LineNumber?: number } };
  }>;
}

/** Runs a build step quietly (its output in a log file), failing with one line naming it and the log. */
function build(what: string, args: string[], log: string): void {
  const t0 = Date.now();
  const r = spawnSync('bash', args, { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20, timeout: Math.max(60_000, deadline - Date.now()) });
  writeFileSync(log, `${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status !== 0) {
    const last = `${r.stderr ?? ''}`.trim().split('\n').pop() ?? '';
    throw new RunError(`building ${what} failed${r.signal === null ? '' : ` (${r.signal}: out of time)`}: ${last} (log: ${log})`);
  }
  if (Date.now() - t0 > 5000) say(`built ${what} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

function specName(s: NonNullable<GinkgoReport['SpecReports']>[number]): string {
  return [...(s.ContainerHierarchyTexts ?? []), s.LeafNodeText ?? ''].filter((t) => t !== '').join(' ');
}

function readSpecs(file: string, dryRun: boolean): SpecResult[] {
  if (!existsSync(file)) return [];
  const reports = JSON.parse(readFileSync(file, 'utf8')) as GinkgoReport[];
  const specs: SpecResult[] = [];
  for (const report of reports) {
    for (const s of report.SpecReports ?? []) {
      if (s.LeafNodeType !== 'It') {
        // A failed BeforeSuite fails every spec without running it: report it as what failed.
        if (!dryRun && s.State !== undefined && s.State !== 'passed' && s.State !== 'skipped') {
          specs.push({ name: `[${s.LeafNodeType}]`, state: s.State, seconds: (s.RunTime ?? 0) / 1e9, message: s.Failure?.Message ?? '', setup: true });
        }
        continue;
      }
      if (s.State === 'skipped' || s.State === 'pending') continue;
      specs.push({ name: specName(s), state: s.State ?? 'unknown', seconds: (s.RunTime ?? 0) / 1e9, message: s.Failure?.Message ?? '' });
    }
  }
  return specs.sort((a, b) => a.name.localeCompare(b.name));
}

function e2eArgs(reportDir: string, kubeconfig: string | undefined, extra: string[]): string[] {
  return [
    `--ginkgo.focus=${FOCUS}`, `--ginkgo.skip=${SKIP}`,
    '--ginkgo.no-color', '--ginkgo.v', `--ginkgo.json-report=${join(reportDir, 'report.json')}`,
    `--report-dir=${reportDir}`,
    `--kubectl-path=${binaryPath('kubectl')}`,
    ...(kubeconfig === undefined ? [] : [`--kubeconfig=${kubeconfig}`]),
    '--provider=skeleton',
    `--e2e-output-dir=${reportDir}`,
    ...extra,
  ];
}

/** The specs the focus and skip select, without a cluster (Ginkgo's dry run). */
function listSpecs(reportDir: string): string[] {
  mkdirSync(reportDir, { recursive: true });
  const r = spawnSync(E2E_TEST, e2eArgs(reportDir, undefined, ['--ginkgo.dry-run']), { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 });
  writeFileSync(join(reportDir, 'e2e.log'), `${r.stdout ?? ''}${r.stderr ?? ''}`);
  const specs = readSpecs(join(reportDir, 'report.json'), true).map((s) => s.name);
  if (specs.length === 0) throw new RunError(`e2e.test --ginkgo.dry-run selected no spec (log: ${join(reportDir, 'e2e.log')})`);
  return specs;
}

/** Starts the node, waiting while another run's node occupies the machine's fixed addresses. */
async function startNode(): Promise<NodeCluster> {
  const waitUntil = Math.min(Date.now() + NODE_WAIT_MS, deadline);
  let said = false;
  for (;;) {
    try {
      return await startNodeCluster({ log: (line) => say(`  node: ${line}`) });
    } catch (error) {
      const message = (error as Error).message;
      if (!/another real node is running/.test(message)) throw error;
      if (Date.now() + 60_000 > waitUntil) throw new RunError(`the node did not start: ${message} (waited ${((NODE_WAIT_MS) / 60_000).toFixed(0)} min)`);
      if (!said) say(`another real node is running: waiting for it (up to ${(NODE_WAIT_MS / 60_000).toFixed(0)} min)`);
      said = true;
      await new Promise((r) => setTimeout(r, 60_000));
    }
  }
}

async function kubectlJson<T>(cluster: NodeCluster, args: string[]): Promise<T> {
  const r = await cluster.kubectl([...args, '-o', 'json'], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new RunError(`kubectl ${args.join(' ')}: ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout) as T;
}

/** Every image the DNS specs use must be on the node (no registry exists here): one line naming a missing one. */
async function checkImages(cluster: NodeCluster): Promise<void> {
  const waitUntil = Date.now() + 60_000;
  for (;;) {
    const node = await kubectlJson<{ status?: { images?: Array<{ names?: string[] }> } }>(cluster, ['get', 'node', cluster.nodeName]);
    const listed = new Set((node.status?.images ?? []).flatMap((i) => i.names ?? []));
    const missing = E2E_IMAGES.map(fullImageName).filter((name) => !listed.has(name));
    if (missing.length === 0) return;
    if (Date.now() > waitUntil) {
      throw new RunError(`image ${missing.join(', ')} missing on the node (build it with \`bash test/cluster/build-images.sh e2e\`; index: ${join(CACHE_DIR, 'images', 'index.tsv')})`);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Which server answers behind kube-dns now, by the pods the Service selects. */
async function dnsServer(cluster: NodeCluster): Promise<string> {
  const pods = await kubectlJson<{ items: Array<{ metadata: { labels?: Record<string, string> }; spec: { containers: Array<{ image: string }> } }> }>(
    cluster, ['-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns']);
  return [...new Set(pods.items.map((p) => p.spec.containers[0]?.image ?? '?'))].join(', ');
}

/** One server's run of the selected specs. */
async function runPhase(server: string, cluster: NodeCluster, reportDir: string, selected: string[]): Promise<SpecResult[]> {
  mkdirSync(reportDir, { recursive: true });
  const timeoutMs = Math.min(PHASE_MS, deadline - Date.now());
  if (timeoutMs < 60_000) throw new RunError(`${server}: no time left for its specs (E2E_TIMEOUT_MINUTES=${TOTAL_MS / 60_000})`);
  const log = join(reportDir, 'e2e.log');
  say(`${server}: running the specs (kube-dns served by ${await dnsServer(cluster)}; log: ${log})`);
  const t0 = Date.now();
  // Ginkgo's own suite timeout first (it reports the spec it interrupts), then ours as the last resort.
  const ginkgoTimeout = `${Math.max(1, Math.floor((timeoutMs - 60_000) / 60_000))}m`;
  const proc = new ManagedProcess(`e2e.test (${server})`, E2E_TEST,
    e2eArgs(reportDir, cluster.kubeconfigPath, [`--ginkgo.timeout=${ginkgoTimeout}`]), log);
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
  const result = await Promise.race([proc.exited, outOfTime]);
  clearTimeout(timer);
  if (result === 'timeout') {
    await proc.stop(10_000);
    const done = readSpecs(join(reportDir, 'report.json'), false);
    throw new RunError(`${server}: the specs did not finish within ${(timeoutMs / 60_000).toFixed(0)} min${done.length > 0 ? ` (${done.length} reported)` : ''} (log: ${log})`);
  }
  const specs = readSpecs(join(reportDir, 'report.json'), false);
  // A selected spec the report does not have as run (Ginkgo skips what the suite timeout leaves) counts as failed.
  const ran = new Set(specs.map((s) => s.name));
  const notRun = selected.filter((name) => !ran.has(name));
  if (specs.length > 0) {
    for (const name of notRun) specs.push({ name, state: 'not run', seconds: 0, message: 'not run: the suite stopped before it (see the spec that timed out or failed the set-up)' });
    specs.sort((a, b) => a.name.localeCompare(b.name));
  }
  if (specs.length === 0) {
    const tail = proc.readLog().trim().split('\n').slice(-1)[0] ?? '';
    throw new RunError(`${server}: e2e.test ${proc.describeExit()} without a report: ${tail} (log: ${log})`);
  }
  const counted = specs.filter((s) => s.setup !== true);
  const passed = counted.filter((s) => s.state === 'passed').length;
  say(`${server}: ${passed} passed, ${counted.length - passed} failed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  for (const s of specs) {
    if (s.state === 'passed') continue;
    const kind = s.state === 'not run' ? 'NOT RUN' : s.state === 'timedout' || s.state === 'interrupted' || /timed out|Timed out|timeout/.test(s.message.split('\n')[0] ?? '') ? 'TIMED OUT' : 'FAILED';
    say(`${server}: ${kind} ${s.name} (${s.state}, ${s.seconds.toFixed(0)} s): ${(s.message.split('\n').find((l) => l.trim() !== '') ?? '').trim().slice(0, 300)}`);
  }
  writeFileSync(join(reportDir, 'specs.tsv'), counted.map((s) => `${s.state}\t${s.seconds.toFixed(1)}\t${s.name}`).join('\n') + '\n');
  return counted;
}

async function swapIn(cluster: NodeCluster, reportDir: string): Promise<void> {
  const log = join(reportDir, 'kind-swap.log');
  const env = {
    ...process.env,
    KUBECONFIG: cluster.kubeconfigPath,
    PATH: `${dirname(binaryPath('kubectl'))}:${process.env.PATH ?? ''}`,
    CHECK_OUTSIDE_NAME: `www.${UPSTREAM_ZONE}`,
  };
  const t0 = Date.now();
  const r = spawnSync('bash', [join(REPO, 'scripts/kind-swap.sh'), 'in', '--no-build'], {
    env, encoding: 'utf8', maxBuffer: 16 << 20, timeout: Math.min(600_000, Math.max(60_000, deadline - Date.now())),
  });
  writeFileSync(log, `${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status !== 0) {
    const last = `${r.stderr ?? ''}`.trim().split('\n').pop() ?? '';
    throw new RunError(`the swap to cluster-dns failed${r.signal === null ? '' : ` (${r.signal})`}: ${last} (log: ${log})`);
  }
  say(`swapped cluster-dns in with \`kind-swap.sh in --no-build\` in ${((Date.now() - t0) / 1000).toFixed(0)} s (${await dnsServer(cluster)})`);
}

const summary = (c: SpecResult[] | undefined, d: SpecResult[] | undefined): string => {
  const counts = (s: SpecResult[] | undefined): string => {
    const passed = s?.filter((x) => x.state === 'passed').length ?? 0;
    return `${passed} passed ${(s?.length ?? 0) - passed} failed`;
  };
  return `e2e dns: coredns ${counts(c)}; cluster-dns ${counts(d)}`;
};

async function main(): Promise<number> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const reports = process.env.E2E_REPORT_DIR ?? join(CACHE_DIR, 'e2e', 'reports', stamp);
  mkdirSync(reports, { recursive: true });
  let coredns: SpecResult[] | undefined;
  let clusterDns: SpecResult[] | undefined;
  let cluster: NodeCluster | undefined;
  try {
    // What is missing: the node's parts and images (test/setup.sh node), then e2e.test, agnhost and the e2e images.
    build('the node (test/setup.sh node)', [join(REPO, 'test/setup.sh'), 'node'], join(reports, 'setup.log'));
    build('e2e.test and agnhost (build-binaries.sh e2e)', [join(REPO, 'test/cluster/build-binaries.sh'), 'e2e'], join(reports, 'build-e2e.log'));
    build('the e2e images (build-images.sh e2e)', [join(REPO, 'test/cluster/build-images.sh'), 'e2e'], join(reports, 'build-images.log'));
    cluster = await startNode();
    say(`node ready after ${elapsed()}`);
    await checkImages(cluster);
    const route = spawnSync('nsenter', [`--net=/var/run/netns/${cluster.resources.netns}`, 'ip', 'route', 'get', CLUSTER_DNS_IP], { encoding: 'utf8', timeout: 10_000 });
    if (route.status !== 0 && process.env.E2E_SKIP === undefined) {
      SKIP = `${BASE_SKIP}|${HOST_NETWORK_SPEC.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
      say(`skipping "${HOST_NETWORK_SPEC}": the node's network namespace has no route to ${CLUSTER_DNS_IP} (${(route.stderr ?? '').trim() || `ip route get exited ${route.status}`}), so host-network pods cannot reach the Service range`);
    }
    const specs = listSpecs(join(reports, 'list'));
    writeFileSync(join(reports, 'spec-list.txt'), `${specs.join('\n')}\n`);
    say(`${specs.length} specs selected (focus ${FOCUS}, skip ${SKIP}; list: ${join(reports, 'spec-list.txt')})`);
    coredns = await runPhase('coredns', cluster, join(reports, 'coredns'), specs);
    await swapIn(cluster, reports);
    clusterDns = await runPhase('cluster-dns', cluster, join(reports, 'cluster-dns'), specs);
    const names = (s: SpecResult[]): string => s.map((x) => x.name).join('\n');
    if (names(coredns) !== names(clusterDns)) say(`the two runs ran different specs (see ${reports}/*/specs.tsv)`);
    say(`reports: ${reports}; run time ${elapsed()}`);
    await cluster.stop();
    cluster = undefined;
    const failed = [...coredns, ...clusterDns].some((s) => s.state !== 'passed') || names(coredns) !== names(clusterDns);
    process.stdout.write(`${summary(coredns, clusterDns)}\n`);
    return failed ? 1 : 0;
  } catch (error) {
    const e = error as Error;
    const what = e instanceof RunError ? e.message
      : e instanceof NodeSetupError ? `the node did not start: ${e.message}`
      : cluster === undefined ? `the node did not start: ${e.message}` : e.message;
    say(what);
    await cluster?.stop().catch((stopError: Error) => say(`stopping the node: ${stopError.message}`));
    process.stdout.write(`${summary(coredns, clusterDns)}\n`);
    return 1;
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`e2e dns: ${(error as Error).message}\n`);
  process.exit(1);
});
