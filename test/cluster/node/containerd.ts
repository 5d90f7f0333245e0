// containerd for the real node: Debian's containerd 1.6 with every path under the run's folder (root, state,
// sockets, CNI config and IPAM data), started inside the node's network namespace.
//
// Two settings are for this machine only. runc is reached through runc-clamp (test/cluster/runc-clamp), which
// raises a negative oomScoreAdj to 0 before exec'ing runc: the kubelet asks -998 for every pod sandbox and lowering
// oom_score_adj is denied here (no CAP_SYS_RESOURCE), so runc would fail every pod with "can't get final child's PID
// from pipe". And pod network namespaces are mounted under the state dir instead of /var/run/netns, so the teardown
// finds them with everything else.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ManagedProcess } from '../process.js';
import { waitReady } from '../probe.js';
import { startInNode } from './node-process.js';
import { NODE_POD_CIDR, type NodeResources } from './layout.js';
import { NodeSetupError } from './network.js';

const execFileP = promisify(execFile);

export const SANDBOX_IMAGE = 'registry.k8s.io/pause:3.10.1';

export interface Containerd {
  readonly socket: string;
  readonly proc: ManagedProcess;
  /** Runs `ctr` against this containerd, in the CRI's `k8s.io` namespace. */
  ctr(args: string[], timeoutMs?: number): Promise<string>;
}

function configToml(dir: string, runcWrapper: string): string {
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${dir}/containerd.sock"

[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${SANDBOX_IMAGE}"
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "${runcWrapper}"
        Root = "${dir}/state/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni"
    max_conf_num = 1
`;
}

/** The pod network: one bridge, host-local addresses from the node's /24, the portmap plugin for hostPorts. */
function cniConflist(dir: string): string {
  return `${JSON.stringify({
    cniVersion: '1.0.0',
    name: 'cluster-dns-node',
    plugins: [
      {
        type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: NODE_POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2)}\n`;
}

export async function startContainerd(r: NodeResources, runcWrapper: string): Promise<Containerd> {
  const dir = join(r.dir, 'containerd');
  await mkdir(join(dir, 'cni'), { recursive: true });
  await writeFile(join(dir, 'config.toml'), configToml(dir, runcWrapper));
  await writeFile(join(dir, 'cni', '10-cluster-dns-node.conflist'), cniConflist(dir));
  const log = join(r.dir, 'containerd.log');
  const proc = startInNode(r, 'containerd', 'containerd', ['--config', join(dir, 'config.toml')]);
  const socket = join(dir, 'containerd.sock');
  const ctr = async (args: string[], timeoutMs = 120_000): Promise<string> => {
    try {
      return (await execFileP('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { timeout: timeoutMs, maxBuffer: 64 << 20 })).stdout;
    } catch (error) {
      const e = error as Error & { stderr?: string };
      throw new NodeSetupError('containerd', `ctr ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim().split('\n').pop()}`, log);
    }
  };
  // Ready once it answers on its socket; waitReady fails at once if it exits, naming its log.
  await waitReady(proc, 30_000, () => ctr(['version'], 5000).then(() => true));
  return { socket, proc, ctr };
}
