// A real one-node Kubernetes cluster: the control plane of test/cluster/ plus a kubelet, containerd, kube-proxy and
// the CNI bridge in a network namespace of their own, kube-scheduler, an upstream NSD, and CoreDNS deployed the way
// kubeadm v1.35 deploys it. kind's parts without kind's container (there is no Docker engine here).
//
// startNodeCluster() resolves only when the cluster is usable the way a kind user's is: the node Ready on
// containerd, CoreDNS's Deployment available behind the kube-dns Service, `kubectl logs`, `kubectl exec` and the API
// server's pod proxy working, and every image the tests and manifests name present on the node. Any part that fails
// ends the start with one line naming it and its log. stop() (or the exit handler, or the reaper after a SIGKILL)
// leaves nothing behind: see teardown.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeBinaries } from '../binaries.js';
import { startControlPlane, type ControlPlane, type KubectlResult } from '../control-plane.js';
import { freePort } from '../ports.js';
import { get, waitReady } from '../probe.js';
import { addCleanup, installCleanupHandlers, ManagedProcess, trackCommand, untrackCommand } from '../process.js';
import { machineTmpdir } from '../scratch.js';
import { startContainerd } from './containerd.js';
import { kubeadmCoreDnsManifests } from './coredns-addon.js';
import { fullImageName, importImages, REQUIRED_IMAGES } from './images.js';
import { startKubelet, startKubeProxy } from './kubelet.js';
import { CLUSTER_CIDR, HOST_ADDRESS, NETNS_PREFIX, NODE_ADDRESS, NODE_NAME, nodeResources, type NodeResources } from './layout.js';
import { createNodeNetwork, NodeSetupError } from './network.js';
import { createRunCgroup } from './node-process.js';
import { teardownNode } from './teardown.js';
import { startUpstream } from './upstream.js';

export interface NodeClusterOptions {
  /** How long each step may take. Default 180 s (a cold containerd unpacks every image first). */
  stepTimeoutMs?: number;
  /** Install SIGINT/SIGTERM/SIGHUP handlers that tear everything down and exit. Default true. */
  handleSignals?: boolean;
  /** Progress lines (one per step, with its time); default none. */
  log?: (line: string) => void;
}

export interface NodeCluster {
  readonly cp: ControlPlane;
  readonly kubeconfigPath: string;
  readonly resources: NodeResources;
  readonly nodeName: string;
  readonly nodeAddress: string;
  /** The host's net.ipv4.ip_forward before the start: the node must never change it. */
  readonly hostForwarding: string;
  /** Log files of the node's parts. */
  readonly logs: Readonly<Record<'containerd' | 'kubelet' | 'kube-proxy' | 'kube-scheduler' | 'upstream', string>>;
  /** Milliseconds each start step took, in order. */
  readonly timings: ReadonlyArray<[string, number]>;
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /**
   * Fault injection for the chaos tests: stops containerd (its shims and the pods run on) or the upstream NSD with
   * SIGTERM, as a service manager's restart would; `restart()` starts it again with the same configuration and
   * resolves once it answers.
   */
  stopPart(part: 'containerd' | 'upstream'): Promise<{ restart(): Promise<void> }>;
  /** Tears the node down and stops the control plane. Idempotent. */
  stop(): Promise<void>;
}

const TEARDOWN_SCRIPT = fileURLToPath(new URL('./teardown.js', import.meta.url));
const CNI_PLUGINS = ['bridge', 'host-local', 'portmap', 'loopback'];

/** Fails with one line naming the first thing this machine lacks for a real node. */
function preflight(): void {
  if (process.getuid?.() !== 0) throw new NodeSetupError('preflight', 'the real node needs root (network namespaces, mounts, cgroups)');
  for (const cmd of ['ip', 'nsenter', 'containerd', 'containerd-shim-runc-v2', 'ctr', 'runc', 'iptables', 'iptables-save', 'iptables-restore', 'dig', 'umount']) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      throw new NodeSetupError('preflight', `${cmd} not found on PATH: run \`bash test/setup.sh node\``);
    }
  }
  for (const plugin of CNI_PLUGINS) {
    if (!existsSync(`/usr/lib/cni/${plugin}`)) throw new NodeSetupError('preflight', `CNI plugin /usr/lib/cni/${plugin} not found: run \`bash test/setup.sh node\``);
  }
  if (!existsSync('/usr/sbin/nsd')) throw new NodeSetupError('preflight', '/usr/sbin/nsd not found: run `bash test/setup.sh`');
  const others = existsSync('/var/run/netns') ? readdirSync('/var/run/netns').filter((n) => n.startsWith(NETNS_PREFIX)) : [];
  if (others.length > 0) {
    throw new NodeSetupError('preflight', `another real node is running (network namespace ${others[0]}): stop it first; only one fits the fixed addresses`);
  }
}

async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, failFast: () => string | undefined = () => undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    const fatal = failFast();
    if (fatal !== undefined) throw new Error(`${what}: ${fatal}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof NodeSetupError) throw error; // a diagnosis, not a reason to wait longer
      lastError = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${lastError === '' ? '' : ` (${lastError})`}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export async function startNodeCluster(opts: NodeClusterOptions = {}): Promise<NodeCluster> {
  const stepTimeoutMs = opts.stepTimeoutMs ?? 180_000;
  const log = opts.log ?? (() => undefined);
  preflight();
  const bin = nodeBinaries();
  installCleanupHandlers(opts.handleSignals ?? true);

  const hostForwarding = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  const r = nodeResources(machineTmpdir);
  await mkdir(r.dir, { recursive: true });
  const teardownArgv = [process.execPath, TEARDOWN_SCRIPT, JSON.stringify(r)];
  trackCommand(teardownArgv); // the reaper runs it if we are SIGKILLed
  const forgetCleanup = addCleanup(() => void teardownNode(r)); // and the exit and signal handlers
  const timings: Array<[string, number]> = [];
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const value = await run();
    timings.push([name, Date.now() - t0]);
    log(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return value;
  };

  let cp: ControlPlane | undefined;
  const processes: ManagedProcess[] = [];
  const tearDown = async (): Promise<void> => {
    const problems = teardownNode(r); // the node first: a live kubelet would keep writing to the API server
    await Promise.all(processes.map((p) => p.stop(3000)));
    await cp?.stop();
    forgetCleanup();
    untrackCommand(teardownArgv);
    if (problems.length > 0) throw new NodeSetupError('teardown', `left behind: ${problems.join('; ')}`);
  };

  try {
    await step('network', async () => {
      createRunCgroup(r);
      await createNodeNetwork(r);
    });
    // `let`: stopPart replaces upstream and containerd with restarted copies.
    let [upstream, controlPlane, containerd] = await step('control plane, upstream and containerd', () => Promise.all([
      startUpstream(r.dir),
      startControlPlane({
        flavour: 'real-node', bindAddress: HOST_ADDRESS, clusterCidr: CLUSTER_CIDR, nodeName: NODE_NAME,
        handleSignals: opts.handleSignals ?? true,
      }),
      startContainerd(r, bin['runc-clamp']),
    ]));
    cp = controlPlane;
    processes.push(upstream.proc, containerd.proc);
    const kubectl = controlPlane.kubectl;
    const k = async (args: string[], timeoutMs = 60_000): Promise<string> => {
      const res = await kubectl(args, { timeoutMs });
      if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr.trim().split('\n').pop()}`);
      return res.stdout;
    };

    // Images before the kubelet: its first image list (in the node status) then has them all, where a later
    // import would be reported only at its next refresh, up to half a minute on.
    await step('images', () => importImages(containerd));
    const kubelet = await startKubelet(r, {
      binary: bin.kubelet, kubeconfig: controlPlane.kubeconfigPath, containerdSocket: containerd.socket, resolvConf: upstream.resolvConf,
    });
    const kubeProxy = await startKubeProxy(r, bin['kube-proxy'], controlPlane.kubeconfigPath);
    const schedulerPort = await freePort();
    const scheduler = new ManagedProcess('kube-scheduler', bin['kube-scheduler'], [
      `--kubeconfig=${controlPlane.kubeconfigPath}`, '--leader-elect=false',
      '--bind-address=127.0.0.1', `--secure-port=${schedulerPort}`, '--v=1',
    ], join(r.dir, 'kube-scheduler.log'));
    processes.push(kubelet, kubeProxy, scheduler);
    await step('kube-scheduler', () => waitReady(scheduler, stepTimeoutMs,
      async () => (await get(`https://127.0.0.1:${schedulerPort}/healthz`, { rejectUnauthorized: false })).status === 200));

    const died = (): string | undefined => {
      const dead = [kubelet, kubeProxy, containerd.proc].find((p) => p.exit !== undefined);
      return dead === undefined ? undefined : `${dead.name} ${dead.describeExit()} (log: ${dead.logPath})`;
    };
    await step('node Ready', () => poll(`node ${NODE_NAME} Ready (log: ${kubelet.logPath})`, stepTimeoutMs, async () => {
      const node = JSON.parse(await k(['get', 'node', NODE_NAME, '-o', 'json'])) as {
        status?: { conditions?: Array<{ type: string; status: string }>; nodeInfo?: { containerRuntimeVersion?: string } };
      };
      const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      const runtime = node.status?.nodeInfo?.containerRuntimeVersion ?? '';
      if (ready && !runtime.startsWith('containerd://')) throw new Error(`runtime is ${runtime}, not containerd`);
      return ready ? true : undefined;
    }, died));

    const apply = await kubectl(['apply', '-f', '-'], { input: kubeadmCoreDnsManifests(), timeoutMs: 60_000 });
    if (apply.code !== 0) throw new NodeSetupError('CoreDNS', `kubectl apply failed: ${apply.stderr.trim()}`);
    await step('CoreDNS available', () => poll('CoreDNS Deployment available (2 of 2 ready)', stepTimeoutMs, async () => {
      const d = JSON.parse(await k(['-n', 'kube-system', 'get', 'deployment', 'coredns', '-o', 'json'])) as { status?: { readyReplicas?: number } };
      if ((d.status?.readyReplicas ?? 0) >= 2) return true;
      await failOnStuckPods(k);
      return undefined;
    }, died));

    await step('logs, exec, pod proxy', async () => {
      const pods = JSON.parse(await k(['-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns', '-o', 'json'])) as { items: Array<{ metadata: { name: string } }> };
      const pod = pods.items[0]?.metadata.name;
      if (pod === undefined) throw new NodeSetupError('CoreDNS', 'no pod with k8s-app=kube-dns');
      const logs = await k(['-n', 'kube-system', 'logs', pod]);
      if (!/CoreDNS-\d/.test(logs)) throw new NodeSetupError('kubectl logs', `the CoreDNS pod's log has no version line: ${logs.slice(0, 200)}`, kubelet.logPath);
      const exec = await k(['-n', 'kube-system', 'exec', pod, '--', '/coredns', '-version']);
      if (!/CoreDNS-\d/.test(exec)) throw new NodeSetupError('kubectl exec', `unexpected output: ${exec.slice(0, 200)}`, kubelet.logPath);
      const health = await k(['get', '--raw', `/api/v1/namespaces/kube-system/pods/${pod}:8080/proxy/health`]);
      if (health.trim() !== 'OK') throw new NodeSetupError('pod proxy', `/health through the API server said ${health.slice(0, 100)}`, controlPlane.logs['kube-apiserver']);
    });
    // The kubelet reports the images it has with its node status, every few seconds.
    let unlisted: string[] = [];
    await step('images in the node status', () => poll('the node status listing every image', 60_000, async () => {
      const node = JSON.parse(await k(['get', 'node', NODE_NAME, '-o', 'json'])) as { status?: { images?: Array<{ names?: string[] }> } };
      const listed = new Set((node.status?.images ?? []).flatMap((i) => i.names ?? []));
      unlisted = REQUIRED_IMAGES.map(fullImageName).filter((name) => !listed.has(name));
      return unlisted.length === 0 ? true : undefined;
    }).catch(() => {
      throw new NodeSetupError('images', `the node's status does not list ${unlisted.join(', ')}`, kubelet.logPath);
    }));

    let stopping: Promise<void> | undefined;
    return {
      cp: controlPlane, kubeconfigPath: controlPlane.kubeconfigPath, resources: r, nodeName: NODE_NAME, nodeAddress: NODE_ADDRESS, hostForwarding,
      logs: {
        containerd: containerd.proc.logPath, kubelet: kubelet.logPath, 'kube-proxy': kubeProxy.logPath,
        'kube-scheduler': scheduler.logPath, upstream: upstream.proc.logPath,
      },
      timings,
      kubectl,
      stopPart: async (part) => {
        const running = part === 'containerd' ? containerd.proc : upstream.proc;
        await running.stop(10_000);
        return {
          restart: async () => {
            if (part === 'containerd') containerd = await startContainerd(r, bin['runc-clamp']);
            else upstream = await startUpstream(r.dir);
            processes.push(part === 'containerd' ? containerd.proc : upstream.proc);
          },
        };
      },
      stop: () => (stopping ??= tearDown()),
    };
  } catch (error) {
    await tearDown().catch(() => undefined);
    throw error;
  }
}

/** A pod waiting on an image means an image was not imported: fail at once instead of waiting for a pull. */
async function failOnStuckPods(k: (args: string[]) => Promise<string>): Promise<void> {
  const pods = JSON.parse(await k(['get', 'pods', '-A', '-o', 'json'])) as {
    items: Array<{ metadata: { name: string; namespace: string }; status?: { containerStatuses?: Array<{ image: string; state?: { waiting?: { reason?: string; message?: string } } }> } }>;
  };
  for (const pod of pods.items) {
    for (const c of pod.status?.containerStatuses ?? []) {
      const reason = c.state?.waiting?.reason;
      if (reason === 'ErrImagePull' || reason === 'ImagePullBackOff' || reason === 'ErrImageNeverPull' || reason === 'InvalidImageName') {
        throw new NodeSetupError('images', `pod ${pod.metadata.namespace}/${pod.metadata.name} cannot get image ${c.image} (${reason}): it was not imported into the node`);
      }
    }
  }
}
