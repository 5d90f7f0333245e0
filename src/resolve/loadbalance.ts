// CoreDNS `loadbalance` (on in kubeadm's Corefile): the A and AAAA records of an answer are shuffled per query,
// so clients that take the first address spread over a headless service's endpoints. CNAMEs keep their place
// in front; the cached reply is never mutated (a shuffled copy is returned).
import { RRType } from '../dns/constants.js';
import type { Reply } from '../dns/message.js';

export function shuffleAddresses(reply: Reply): Reply {
  const answer = reply.answer;
  if (answer.length < 2) return reply;
  const positions: number[] = [];
  for (let i = 0; i < answer.length; i++) if (answer[i]!.type === RRType.A || answer[i]!.type === RRType.AAAA) positions.push(i);
  if (positions.length < 2) return reply;
  const shuffled = answer.slice();
  const records = positions.map((p) => answer[p]!);
  for (let i = records.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [records[i], records[j]] = [records[j]!, records[i]!];
  }
  positions.forEach((p, k) => (shuffled[p] = records[k]!));
  return { ...reply, answer: shuffled };
}

/**
 * The fast path's form of load balancing: up to `max` rotations of the address records, served in turn, so a
 * cached answer still spreads clients over every address.
 */
export function addressRotations(reply: Reply, max = 8): Reply[] {
  const answer = reply.answer;
  const positions: number[] = [];
  for (let i = 0; i < answer.length; i++) if (answer[i]!.type === RRType.A || answer[i]!.type === RRType.AAAA) positions.push(i);
  if (positions.length < 2) return [reply];
  const out: Reply[] = [];
  for (let r = 0; r < Math.min(positions.length, max); r++) {
    const rotated = answer.slice();
    positions.forEach((p, k) => (rotated[p] = answer[positions[(k + r) % positions.length]!]!));
    out.push({ ...reply, answer: rotated });
  }
  return out;
}
