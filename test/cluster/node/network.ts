// The node's network: a network namespace joined to the host by a veth pair, with no default route.
//
// Inside it live containerd, the kubelet, kube-proxy, the CNI bridge and every pod; IP forwarding and the bridge's
// netfilter hook are switched on there only. The host keeps its own settings (forwarding stays off) and gains two
// routes, the pod range and the Service range via the node end of the veth, which vanish with the veth. A packet
// from a pod to anything but the host end, the pod bridge or a Service kube-proxy translates has no route: it cannot
// leave the machine (the Service range is routed to the host end, for the node's own host-network processes; the
// host forwards nothing). assertIsolated() checks that before anything is started in the namespace.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLUSTER_CIDR, HOST_ADDRESS, NODE_ADDRESS, SERVICE_CIDR, VETH_PREFIX, type NodeResources } from './layout.js';

const execFileP = promisify(execFile);

export class NodeSetupError extends Error {
  constructor(part: string, problem: string, log?: string) {
    super(`real node: ${part}: ${problem}${log === undefined ? '' : ` (log: ${log})`}`);
    this.name = 'NodeSetupError';
  }
}

async function sh(part: string, file: string, args: string[]): Promise<string> {
  try {
    return (await execFileP(file, args, { timeout: 30_000 })).stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === 'ENOENT' ? `${file} not found` : (e.stderr ?? e.message).trim().split('\n').pop();
    throw new NodeSetupError(part, `${file} ${args.join(' ')} failed: ${why}`);
  }
}

/** argv prefix that runs a command in the node's network namespace only (not `ip netns exec`, see below). */
export function inNodeNetwork(r: NodeResources): string[] {
  // `ip netns exec` also makes a mount namespace and remounts /sys, which hides the cgroup hierarchies the kubelet
  // and runc need; nsenter enters the network namespace and nothing else.
  return ['nsenter', `--net=/var/run/netns/${r.netns}`, '--'];
}

function nodeSh(r: NodeResources, part: string, args: string[]): Promise<string> {
  const [file, ...rest] = inNodeNetwork(r);
  return sh(part, file!, [...rest, ...args]);
}

export async function createNodeNetwork(r: NodeResources): Promise<void> {
  await sh('network', 'ip', ['netns', 'add', r.netns]);
  await sh('network', 'ip', ['link', 'add', r.hostVeth, 'type', 'veth', 'peer', 'name', r.nodeVeth, 'netns', r.netns]);
  await sh('network', 'ip', ['addr', 'add', `${HOST_ADDRESS}/${VETH_PREFIX}`, 'dev', r.hostVeth]);
  await sh('network', 'ip', ['link', 'set', r.hostVeth, 'up']);
  await nodeSh(r, 'network', ['ip', 'link', 'set', 'lo', 'up']);
  await nodeSh(r, 'network', ['ip', 'addr', 'add', `${NODE_ADDRESS}/${VETH_PREFIX}`, 'dev', r.nodeVeth]);
  await nodeSh(r, 'network', ['ip', 'link', 'set', r.nodeVeth, 'up']);
  await assertIsolated(r);
  // Pod → Service → pod on the same bridge needs the bridge's traffic to pass through iptables (kube-proxy's
  // DNAT); forwarding between the bridge and the veth is what lets the API server reach pods. Both per namespace.
  await nodeSh(r, 'network', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=1']);
  for (const cidr of [CLUSTER_CIDR, SERVICE_CIDR]) {
    await sh('network', 'ip', ['route', 'add', cidr, 'via', NODE_ADDRESS, 'dev', r.hostVeth]);
  }
  // Host-network processes of the node (hostNetwork pods, the kubelet) reach Service IPs too: the kernel needs a
  // route for the address before kube-proxy's OUTPUT rules translate it to a pod's. Towards the host end of the
  // veth: a packet kube-proxy does not translate reaches the host, which forwards nothing, and goes no further.
  await nodeSh(r, 'network', ['ip', 'route', 'add', SERVICE_CIDR, 'via', HOST_ADDRESS, 'dev', r.nodeVeth, 'src', NODE_ADDRESS]);
}

/** The node's routing table: the veth's own /30, the Service range into it, and once pods run the bridge's subnet. */
export async function nodeRoutes(r: NodeResources): Promise<string> {
  return nodeSh(r, 'network', ['ip', '-4', 'route', 'show', 'table', 'all']);
}

/** Throws unless the node namespace has no default route (IPv4 or IPv6) in any routing table. */
export async function assertIsolated(r: NodeResources): Promise<void> {
  const routes = `${await nodeRoutes(r)}${await nodeSh(r, 'network', ['ip', '-6', 'route', 'show', 'table', 'all'])}`;
  const defaults = routes.split('\n').filter((line) => /^default\b/.test(line) || /^(0\.0\.0\.0\/0|::\/0)\b/.test(line));
  if (defaults.length > 0) {
    throw new NodeSetupError('network', `the node namespace ${r.netns} has a default route (${defaults[0]}): refusing to start`);
  }
}
