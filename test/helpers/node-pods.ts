// Real pods on the real node for tests: create from manifests, wait until Ready, exec into them, and a client pod
// that resolves a name in a bounded loop and counts what failed, for the swap and restart tests.
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { binaryPath } from '../cluster/binaries.js';
import type { NodeCluster } from '../cluster/node/cluster.js';
import { DNSUTILS_IMAGE } from '../cluster/node/images.js';
import { UPSTREAM_ZONE } from '../cluster/node/layout.js';
import { eventually } from './eventually.js';

const KIND_SWAP = resolve('scripts/kind-swap.sh');

export interface SwapRun {
  code: number;
  /** stdout and stderr together, as they came. */
  output: string;
  /** The same lines, each after the wall-clock second it arrived in (`<epoch s>.<ms>`): to set a failed lookup of the loop beside the step it fell in. */
  timed: string;
}

/**
 * Runs `scripts/kind-swap.sh ARGS` against the node as a user would: KUBECONFIG set, the built kubectl on PATH, and
 * the upstream's name as the outside name `check` resolves. Never rejects; check `code`.
 */
export function kindSwap(cluster: NodeCluster, args: string[]): Promise<SwapRun> {
  const env = {
    ...process.env,
    KUBECONFIG: cluster.kubeconfigPath,
    PATH: `${dirname(binaryPath('kubectl'))}:${process.env.PATH ?? ''}`,
    CHECK_OUTSIDE_NAME: `www.${UPSTREAM_ZONE}`,
  };
  return new Promise((done) => {
    const child = spawn('bash', [KIND_SWAP, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 400_000 });
    let output = '';
    let timed = '';
    let partial = '';
    const take = (chunk: Buffer): void => {
      const text = chunk.toString();
      output += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      const stamp = (Date.now() / 1000).toFixed(3);
      for (const line of lines) timed += `${stamp} ${line}\n`;
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (error) => done({ code: -1, output: `${output}${error.message}`, timed }));
    child.on('close', (code) => {
      if (partial !== '') timed += `${(Date.now() / 1000).toFixed(3)} ${partial}\n`;
      done({ code: code ?? -1, output, timed });
    });
  });
}

export class Kubectl {
  constructor(private readonly cluster: NodeCluster) {}

  /** Runs kubectl; rejects with its stderr on a non-zero exit. */
  async run(args: string[], input?: string, timeoutMs = 60_000): Promise<string> {
    const res = await this.cluster.kubectl(args, { timeoutMs, ...(input === undefined ? {} : { input }) });
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} (exit ${res.code}): ${res.stderr.trim()}`);
    return res.stdout;
  }

  apply(objects: unknown[]): Promise<string> {
    return this.run(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  }

  async json<T>(args: string[]): Promise<T> {
    return JSON.parse(await this.run([...args, '-o', 'json'])) as T;
  }

  /** `kubectl exec` in a pod's first container; resolves with stdout, rejects with stderr on failure. */
  exec(namespace: string, pod: string, command: string[], timeoutMs = 60_000): Promise<string> {
    return this.run(['-n', namespace, 'exec', pod, '--', ...command], undefined, timeoutMs);
  }

  /** ServiceAccount admission rejects pods until the controller has made the namespace's `default` account. */
  async waitForDefaultServiceAccount(namespace: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.cluster.kubectl(['-n', namespace, 'get', 'serviceaccount', 'default'])).code !== 0) {
      if (Date.now() > deadline) throw new Error(`namespace ${namespace} got no default ServiceAccount within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async waitReady(namespace: string, selector: string, timeoutSeconds = 120): Promise<void> {
    await this.run(['-n', namespace, 'wait', '--for=condition=Ready', 'pod', '-l', selector, `--timeout=${timeoutSeconds}s`], undefined, (timeoutSeconds + 10) * 1000);
  }

  /**
   * Waits until the kube-dns Service has ready endpoints and no endpoint that is not ready: the state a suite that
   * starts from "CoreDNS serves the cluster" needs. After an API-server outage longer than the node-monitor grace
   * period, the node controller marks the node's pods not ready, and they stay out of the Service until the
   * kubelet reports them again, well after the node itself is Ready.
   */
  async waitKubeDnsServing(timeoutMs = 120_000): Promise<void> {
    let seen = 'no EndpointSlice read';
    try {
      await eventually(timeoutMs, 'kube-dns serving', async () => {
        const slices = await this.json<{ items: Array<{ endpoints?: Array<{ addresses: string[]; conditions?: { ready?: boolean } }> }> }>(
          ['-n', 'kube-system', 'get', 'endpointslices', '-l', 'kubernetes.io/service-name=kube-dns']);
        const endpoints = slices.items.flatMap((s) => s.endpoints ?? []);
        const ready = endpoints.filter((e) => e.conditions?.ready === true).length;
        seen = `${ready} ready of ${endpoints.length} endpoints`;
        return ready > 0 && ready === endpoints.length;
      }, 500);
    } catch (error) {
      const pods = await this.run(['-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns', '-o', 'wide']).catch((e: Error) => e.message);
      throw new Error(`${(error as Error).message}: ${seen}\n${pods}`);
    }
  }
}

/** A dnsutils pod (ClusterFirst DNS: the kubelet's real resolv.conf) that sleeps until the test is done with it. */
export function dnsutilsPod(namespace: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: 'dnsutils', image: DNSUTILS_IMAGE, imagePullPolicy: 'IfNotPresent',
        // Bounded: the pod ends by itself after an hour whatever happens to the test.
        command: ['sleep', '3600'],
      }],
      ...extra,
    },
  };
}

export interface LookupCounts {
  ok: number;
  failed: number;
  /** Lookups that succeeded but took over a second. */
  slow: number;
  /**
   * Distinct seconds with at least one failed lookup: how long lookups failed, whatever each failure took (a
   * quick SERVFAIL and a 2 s timeout count the same).
   */
  failedSeconds: number;
  /** Unix time (s) of the last failed lookup; 0 if none (in since(): none in the window). */
  lastFailure: number;
  /** Failures (the first 2,000 of the loop): "<unix time> <what dig printed>". */
  failures: string[];
}

/**
 * A lookup loop inside a pod: `dig` of one name through the kube-dns Service IP, one try with a 2 s timeout, as
 * fast as it goes, counting answers equal to `expect`, other outcomes and slow answers into files. The loop is
 * bounded (it stops when /tmp/stop exists or after `maxSeconds`), and read with exec, so the counts survive a
 * `kubectl exec` that fails.
 */
export class LookupLoop {
  private constructor(private readonly k: Kubectl, readonly namespace: string, readonly pod: string) {}

  /** `pauseSeconds` between lookups (default none) keeps several loops from taking the machine's CPU. */
  static async start(k: Kubectl, namespace: string, pod: string, opts: { server: string; name: string; expect: string; maxSeconds?: number; pauseSeconds?: number }): Promise<LookupLoop> {
    const script = `
      end=$(( $(date +%s) + ${opts.maxSeconds ?? 900} )); ok=0; failed=0; slow=0; fsec=0; lastfail=0; : > /tmp/failures
      while [ ! -f /tmp/stop ] && [ "$(date +%s)" -lt "$end" ]; do
        t0=$(date +%s%N)
        out=$(dig +short +tries=1 +time=2 @${opts.server} ${opts.name} A 2>&1)
        t1=$(date +%s%N)
        if [ "$out" = "${opts.expect}" ]; then
          ok=$((ok+1)); [ $(( (t1 - t0) / 1000000 )) -gt 1000 ] && slow=$((slow+1))
        else
          failed=$((failed+1)); now=$(date +%s); [ "$now" != "$lastfail" ] && fsec=$((fsec+1)) && lastfail=$now
          [ "$failed" -le 2000 ] && echo "$now $out" | tr '\\n' ' ' >> /tmp/failures && echo >> /tmp/failures
        fi
        echo "$ok $failed $slow $fsec $lastfail" > /tmp/counts.new && mv /tmp/counts.new /tmp/counts${opts.pauseSeconds ? `
        sleep ${opts.pauseSeconds}` : ''}
      done
      touch /tmp/done`;
    await k.exec(namespace, pod, ['sh', '-c', 'rm -f /tmp/stop /tmp/done /tmp/counts']);
    // Detached inside the container: the exec returns at once, the loop runs on in the pod.
    await k.exec(namespace, pod, ['sh', '-c', `nohup sh -c '${script.replace(/'/g, `'"'"'`)}' >/dev/null 2>&1 &`]);
    const loop = new LookupLoop(k, namespace, pod);
    // Wait for the first lookups, so a count of zero failures means something.
    const deadline = Date.now() + 20_000;
    while ((await loop.counts()).ok < 5) {
      if (Date.now() > deadline) throw new Error(`lookup loop in ${pod}: fewer than 5 good lookups in 20 s: ${JSON.stringify(await loop.counts())}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return loop;
  }

  async counts(): Promise<LookupCounts> {
    const out = await this.k.exec(this.namespace, this.pod, ['sh', '-c', 'cat /tmp/counts 2>/dev/null || echo 0 0 0 0 0; echo ---; cat /tmp/failures 2>/dev/null || true']);
    const [head = '', rest = ''] = out.split('---\n');
    const [ok = 0, failed = 0, slow = 0, failedSeconds = 0, lastFailure = 0] = head.trim().split(/\s+/).map(Number);
    return { ok, failed, slow, failedSeconds, lastFailure, failures: rest.split('\n').filter((l) => l.trim() !== '') };
  }

  /** Counts since `before` (the loop keeps running). */
  async since(before: LookupCounts): Promise<LookupCounts> {
    const now = await this.counts();
    return {
      ok: now.ok - before.ok, failed: now.failed - before.failed, slow: now.slow - before.slow,
      failedSeconds: now.failedSeconds - before.failedSeconds,
      lastFailure: now.lastFailure > before.lastFailure ? now.lastFailure : 0,
      failures: now.failures.slice(before.failures.length),
    };
  }

  async stop(): Promise<LookupCounts> {
    await this.k.exec(this.namespace, this.pod, ['touch', '/tmp/stop']);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const done = await this.k.exec(this.namespace, this.pod, ['sh', '-c', 'test -f /tmp/done && echo yes || echo no']);
      if (done.trim() === 'yes') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return this.counts();
  }
}
