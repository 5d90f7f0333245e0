// A throwaway Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver and kube-controller-manager from the
// binaries built by test/setup.sh, a generated PKI, an admin kubeconfig and one Ready Node. No kubelet, scheduler
// or container runtime: tests create Pods bound to node-1 and write their status, and the real EndpointSlice
// controller publishes EndpointSlices from them, which is what a cluster DNS server watches.
//
// Everything lives in one temp dir (os.tmpdir()/cluster-dns-cp-XXXXXX): etcd data, certificates, kubeconfig and
// one log file per process. A start takes a few seconds with warm binaries, so test suites share one instance
// (root-hooks.ts) and isolate themselves with namespaces.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlPlaneBinaries } from './binaries.js';
import { generatePki, type Pki } from './certs.js';
import { writeAdminKubeconfig } from './kubeconfig.js';
import { registerReadyNode } from './node.js';
import { freePort } from './ports.js';
import { ComponentError, get, waitReady } from './probe.js';
import { installCleanupHandlers, ManagedProcess, trackTempDir, untrackTempDir } from './process.js';

export interface ControlPlaneOptions {
  /** Per component: how long to wait for it to become ready. Default 60 s. */
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 5 s. */
  stopTimeoutMs?: number;
  /** Install SIGINT/SIGTERM/SIGHUP handlers that stop everything and exit. Default true; the CLI handles them itself. */
  handleSignals?: boolean;
  /** Name of the Ready Node to register. Default 'node-1'. */
  nodeName?: string;
  /**
   * --advertise-address of the API server (it listens on 127.0.0.1 whatever this is). Default 127.0.0.1; the API
   * server then cannot publish endpoints for the `kubernetes` Service (loopback addresses are invalid in
   * Endpoints) and logs that every 10 s. Give a non-loopback address, e.g. 192.0.2.1, to get them.
   */
  advertiseAddress?: string;
  /**
   * The one address the API server listens on (and the kubeconfig names). Default 127.0.0.1; the real node
   * (node/cluster.ts) uses the host end of its veth pair, which the node's network namespace can reach.
   */
  bindAddress?: string;
  /** More IP addresses for the API server's serving certificate (the bind address is always in it). */
  extraIpSans?: string[];
  /**
   * 'fake-node' (default): the narrow set of controllers, ServiceAccount admission off, and a fake Ready Node for
   * tests that write pod status themselves. 'real-node': every default controller and the API server's default
   * admission (pods get service-account tokens, as in any cluster), and no fake Node: a kubelet registers itself.
   */
  flavour?: 'fake-node' | 'real-node';
  /** Pod network for the node IPAM controller ('real-node' only). */
  clusterCidr?: string;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  /** Exit code; 128+signal if killed (e.g. 137 after the timeout). */
  code: number;
}

export type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager';

export interface ControlPlane {
  /** The temp dir holding everything below; removed by stop(). */
  readonly dir: string;
  /** Admin kubeconfig (client certificate in system:masters, everything embedded). */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  readonly server: string;
  readonly etcdUrl: string;
  readonly nodeName: string;
  /** Certificate and key files, e.g. for a client that wants them separately (CoreDNS `tls`). */
  readonly pki: Pki;
  readonly logs: Readonly<Record<Component, string>>;
  readonly pids: Readonly<Record<Component, number>>;
  /** Runs the built kubectl against this cluster. Never rejects on a non-zero exit; check `code`. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /**
   * Kills the API server at once (a crash) for an outage test; `restart()` starts it again with the same flags
   * and port and resolves when it is ready. stop() stops whichever copy runs.
   */
  killApiServer(): Promise<{ restart(): Promise<void> }>;
  /** Stops the processes (SIGTERM, then SIGKILL) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export const SERVICE_CIDR = '10.96.0.0/16';
/**
 * The real node's API server is dual-stack for Services (IPv4 first, so a Service without ipFamilies stays IPv4):
 * an IPv6 ClusterIP Service can exist there, for the tests of service variables in real pods. No pod or node has
 * an IPv6 address, and kube-proxy stays IPv4-only with an IPv4 cluster CIDR.
 */
export const SERVICE_CIDR_V6 = 'fd00:10:96::/112';
// EndpointSlices need these; the others keep namespaces deletable and service-account tokens working.
const FAKE_NODE_CONTROLLERS = 'endpointslice,endpointslicemirroring,namespace,serviceaccount,serviceaccount-token,garbagecollector';
const PORT_ATTEMPTS = 3;

/**
 * Starts a component on freshly picked ports and waits until it is ready. If it dies because a port was taken in
 * the meantime, tries again with new ports; any other failure is final. A failed process is always stopped.
 */
async function startComponent(
  launch: () => Promise<{ proc: ManagedProcess; ready: () => Promise<boolean> }>,
  timeoutMs: number,
): Promise<ManagedProcess> {
  for (let attempt = 1; ; attempt++) {
    const { proc, ready } = await launch();
    try {
      await waitReady(proc, timeoutMs, ready);
      return proc;
    } catch (error) {
      await proc.stop(1000);
      if (!(error instanceof ComponentError && error.portClash && attempt < PORT_ATTEMPTS)) throw error;
    }
  }
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 5000;
  const nodeName = opts.nodeName ?? 'node-1';
  const realNode = opts.flavour === 'real-node';
  const bindAddress = opts.bindAddress ?? '127.0.0.1';
  const bin = controlPlaneBinaries(); // a missing binary fails here, before anything is started
  installCleanupHandlers(opts.handleSignals ?? true);

  const dir = await mkdtemp(join(tmpdir(), 'cluster-dns-cp-'));
  trackTempDir(dir);
  const logs: Record<Component, string> = {
    etcd: join(dir, 'etcd.log'),
    'kube-apiserver': join(dir, 'kube-apiserver.log'),
    'kube-controller-manager': join(dir, 'kube-controller-manager.log'),
  };
  const started: ManagedProcess[] = [];
  const stopStarted = (): Promise<void[]> => Promise.all(started.map((p) => p.stop(stopTimeoutMs)));

  try {
    // etcd does not need the certificates, so it starts while they are made.
    const pkiPromise = generatePki(dir, [...new Set([bindAddress, ...(opts.extraIpSans ?? [])])]);
    pkiPromise.catch(() => undefined); // awaited after etcd; until then a rejection must not count as unhandled
    let etcdUrl = '';
    const etcd = await startComponent(async () => {
      const [client, peer] = [await freePort(), await freePort()];
      const url = (etcdUrl = `http://127.0.0.1:${client}`);
      const peerUrl = `http://127.0.0.1:${peer}`;
      // A fresh data dir per attempt: a member that died on a taken port may have recorded its old peer URL.
      await rm(join(dir, 'etcd-data'), { recursive: true, force: true });
      const proc = new ManagedProcess('etcd', bin.etcd, [
        `--data-dir=${join(dir, 'etcd-data')}`,
        `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
        `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`, `--initial-cluster=default=${peerUrl}`,
        '--unsafe-no-fsync', // test data: durability is worthless, fsync latency is not
        '--log-level=warn',
      ], logs.etcd);
      started.push(proc);
      const ready = async (): Promise<boolean> => {
        const res = await get(`${url}/health`);
        return res.status === 200 && (JSON.parse(res.body) as { health?: string }).health === 'true';
      };
      return { proc, ready };
    }, readyTimeoutMs);
    const pki = await pkiPromise;
    const [ca, cert, key] = await Promise.all([readFile(pki.caCert), readFile(pki.adminCert), readFile(pki.adminKey)]);
    const tls = { ca, cert, key };

    let server = '';
    let apiserverArgs: string[] = [];
    const apiserverReady = async (): Promise<boolean> => (await get(`${server}/readyz`, tls)).status === 200;
    let apiserver = await startComponent(async () => {
      const port = await freePort();
      server = `https://${bindAddress}:${port}`;
      await mkdir(join(dir, 'apiserver-certs'), { recursive: true });
      apiserverArgs = [
        `--etcd-servers=${etcdUrl}`,
        `--secure-port=${port}`, `--bind-address=${bindAddress}`, `--advertise-address=${opts.advertiseAddress ?? bindAddress}`,
        `--service-cluster-ip-range=${realNode ? `${SERVICE_CIDR},${SERVICE_CIDR_V6}` : SERVICE_CIDR}`,
        '--authorization-mode=RBAC',
        // Without this every Pod would need its namespace's default ServiceAccount to exist first; a real node's
        // pods need it, for their projected tokens.
        ...(realNode ? [] : ['--disable-admission-plugins=ServiceAccount']),
        // Reach kubelets (logs, exec, port-forward) at their InternalIP: by name it would ask the machine's resolver.
        '--kubelet-preferred-address-types=InternalIP',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.serviceAccountPub}`, `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--tls-cert-file=${pki.apiserverCert}`, `--tls-private-key-file=${pki.apiserverKey}`,
        `--cert-dir=${join(dir, 'apiserver-certs')}`, // never write to the default /var/run/kubernetes
        '--allow-privileged=true',
        '--profiling=false',
      ];
      const proc = new ManagedProcess('kube-apiserver', bin['kube-apiserver'], apiserverArgs, logs['kube-apiserver']);
      started.push(proc);
      return { proc, ready: apiserverReady };
    }, readyTimeoutMs);

    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeAdminKubeconfig(kubeconfigPath, server, pki);

    // The Node only needs the API server, so it is registered while the controller manager starts.
    const node = realNode ? Promise.resolve() : withTimeout(registerReadyNode(kubeconfigPath, nodeName), readyTimeoutMs).catch((error: unknown) => {
      const e = error as Error & { cause?: Error };
      const why = e.cause?.message === undefined ? e.message : `${e.message}: ${e.cause.message}`;
      throw new ComponentError(`registering Node ${nodeName}`, `failed: ${why}`, logs['kube-apiserver']);
    });
    node.catch(() => undefined); // awaited below; until then a rejection must not count as unhandled
    const controllerManager = await startComponent(async () => {
      const port = await freePort();
      await mkdir(join(dir, 'controller-manager-certs'), { recursive: true });
      const proc = new ManagedProcess('kube-controller-manager', bin['kube-controller-manager'], [
        `--kubeconfig=${kubeconfigPath}`,
        `--controllers=${realNode ? '*' : FAKE_NODE_CONTROLLERS}`,
        ...(realNode && opts.clusterCidr !== undefined
          ? ['--allocate-node-cidrs=true', `--cluster-cidr=${opts.clusterCidr}`, '--node-cidr-mask-size=24'] : []),
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        `--flex-volume-plugin-dir=${join(dir, 'flex-volume-plugins')}`, // not /usr/libexec/kubernetes
        `--service-account-private-key-file=${pki.serviceAccountKey}`, `--root-ca-file=${pki.caCert}`,
        '--use-service-account-credentials=false',
        '--leader-elect=false',
        '--bind-address=127.0.0.1', `--secure-port=${port}`, // its own health endpoint: loopback is enough
        `--cert-dir=${join(dir, 'controller-manager-certs')}`, // its self-signed serving cert goes here
      ], logs['kube-controller-manager']);
      started.push(proc);
      // Loopback probe of its self-signed serving certificate: there is nothing to verify it against.
      const ready = async (): Promise<boolean> =>
        (await get(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false })).status === 200;
      return { proc, ready };
    }, readyTimeoutMs);
    await node;

    let stopping: Promise<void> | undefined;
    return {
      dir, kubeconfigPath, server, etcdUrl, nodeName, pki, logs,
      get pids() {
        return { etcd: etcd.pid, 'kube-apiserver': apiserver.pid, 'kube-controller-manager': controllerManager.pid };
      },
      killApiServer: async () => {
        await apiserver.stop(0); // SIGTERM and SIGKILL at once: a crash, not a graceful shutdown
        return {
          restart: async () => {
            // Same flags, so the same port: every client's kubeconfig stays valid.
            apiserver = new ManagedProcess('kube-apiserver', bin['kube-apiserver'], apiserverArgs, logs['kube-apiserver']);
            started.push(apiserver);
            await waitReady(apiserver, readyTimeoutMs, apiserverReady);
          },
        };
      },
      kubectl: (args, kopts) => runKubectl(bin.kubectl, ['--kubeconfig', kubeconfigPath, ...args], kopts),
      stop: () => (stopping ??= (async () => {
        // Clients of etcd first, so the API server does not spend its shutdown retrying a dead etcd.
        await Promise.all([controllerManager.stop(stopTimeoutMs), apiserver.stop(stopTimeoutMs)]);
        await etcd.stop(stopTimeoutMs);
        await rm(dir, { recursive: true, force: true });
        untrackTempDir(dir);
      })()),
    };
  } catch (error) {
    await stopStarted();
    await keepOnlyLogs(dir);
    untrackTempDir(dir);
    throw error;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** After a failed start: delete data and keys but keep the log files the error message points at. */
async function keepOnlyLogs(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => []);
  await Promise.all(entries.filter((e) => !e.endsWith('.log')).map((e) => rm(join(dir, e), { recursive: true, force: true })));
}

function runKubectl(kubectl: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = spawn(kubectl, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error) => resolve({ stdout, stderr: `${stderr}${error.message}`, code: 127 }));
    child.on('close', (code, signal) => {
      resolve({ stdout, stderr, code: code ?? 128 + (signal === null ? 0 : constants.signals[signal]) });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
