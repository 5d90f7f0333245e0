// Who sent a query, for --autopath: client address → pod, from a small projection of Pods (PodAddressInfo),
// never the objects themselves. It answers "this pod" only when nothing else could have been at that address:
// an address that held another pod (another uid) within the reuse window is ambiguous, a node's address (any
// pod's hostIP) or a hostNetwork pod's is shared, an address nobody claims is unknown. Pods that left an
// address are remembered for the window, so a reused IP stays ambiguous while the old owner's queries may still
// be in flight or the watch may not have told us everything (coredns#3765: CoreDNS trusts the first pod it finds).
import type { Clock } from '../base/clock.js';
import type { PodAddressInfo } from './objects.js';

export type Attribution =
  | { kind: 'pod'; pod: PodAddressInfo }
  | { kind: 'unknown' }
  | { kind: 'node' }
  | { kind: 'host_network' }
  | { kind: 'ambiguous' };

interface Owner {
  /** Undefined once the pod has left the address (deleted, terminal, new IP); then `goneAt` says when. */
  pod: PodAddressInfo | undefined;
  goneAt: number;
}

/** Samples of the watch lag are kept per minute; the lag is the worst of the current and the previous minute. */
const LAG_BUCKET_MS = 60_000;

export class PodAddresses {
  private readonly byKey = new Map<string, PodAddressInfo>();
  /** address → pod uid → owner, live or recently gone. */
  private readonly byIP = new Map<string, Map<string, Owner>>();
  /** node address → live pods naming it as their hostIP. */
  private readonly nodes = new Map<string, number>();
  /** Owners that left an address, oldest first, to forget them after the window. */
  private readonly departed: Array<{ ip: string; uid: string; goneAt: number }> = [];
  private lagBucketStart = 0;
  private lagCurrent = 0;
  private lagPrevious = 0;

  constructor(
    private readonly clock: Clock,
    private readonly opts: { reuseWindowMs: number },
  ) {}

  /** Pods known with an address. */
  get size(): number {
    return this.byKey.size;
  }

  /**
   * A pod's current state (undefined: it holds no address any more). `fromWatch`: a watch event, whose write
   * time says how far behind the API server we are; a listing's objects may be old, so they never count.
   */
  upsert(key: string, info: PodAddressInfo | undefined, fromWatch = false): void {
    if (fromWatch && info && !Number.isNaN(info.writtenAt)) this.noteLag(this.clock.now() - info.writtenAt);
    this.forget(); // also here, so a quiet server's memory of departed pods stays bounded
    const old = this.byKey.get(key);
    if (old) this.release(old, info);
    if (!info) {
      this.byKey.delete(key);
      return;
    }
    this.byKey.set(key, info);
    for (const ip of info.ips) {
      let owners = this.byIP.get(ip);
      if (!owners) this.byIP.set(ip, (owners = new Map()));
      owners.set(info.uid, { pod: info, goneAt: 0 });
    }
    for (const ip of info.hostIPs) this.nodes.set(ip, (this.nodes.get(ip) ?? 0) + 1);
  }

  remove(key: string): void {
    this.upsert(key, undefined);
  }

  /** Keys of every pod known, for a relist to find the ones that vanished. */
  keys(): IterableIterator<string> {
    return this.byKey.keys();
  }

  attribute(ip: string): Attribution {
    this.forget();
    if (this.nodes.has(ip)) return { kind: 'node' };
    const owners = this.byIP.get(ip);
    if (!owners) return { kind: 'unknown' };
    if (owners.size > 1) return { kind: 'ambiguous' };
    const [owner] = owners.values();
    if (!owner?.pod) return { kind: 'unknown' }; // its pod left, and no other has come
    return owner.pod.hostNetwork ? { kind: 'host_network' } : { kind: 'pod', pod: owner.pod };
  }

  /** How far behind the API server the Pod watch has been lately, ms (0 when nothing says otherwise). */
  watchLagMs(): number {
    this.rotateLag();
    return Math.max(this.lagCurrent, this.lagPrevious);
  }

  private noteLag(ms: number): void {
    this.rotateLag();
    this.lagCurrent = Math.max(this.lagCurrent, Math.max(0, ms));
  }

  private rotateLag(): void {
    const now = this.clock.now();
    if (now - this.lagBucketStart < LAG_BUCKET_MS) return;
    this.lagPrevious = now - this.lagBucketStart < 2 * LAG_BUCKET_MS ? this.lagCurrent : 0;
    this.lagCurrent = 0;
    this.lagBucketStart = now;
  }

  /** The old state of a pod gives up what the new one no longer holds. */
  private release(old: PodAddressInfo, now: PodAddressInfo | undefined): void {
    for (const ip of old.hostIPs) {
      const n = (this.nodes.get(ip) ?? 1) - 1;
      if (n > 0) this.nodes.set(ip, n);
      else this.nodes.delete(ip);
    }
    for (const ip of old.ips) {
      if (now && now.uid === old.uid && now.ips.includes(ip)) continue;
      const owner = this.byIP.get(ip)?.get(old.uid);
      if (!owner || !owner.pod) continue;
      const goneAt = this.clock.now();
      owner.pod = undefined;
      owner.goneAt = goneAt;
      this.departed.push({ ip, uid: old.uid, goneAt });
    }
  }

  /** Drops the owners that left an address longer ago than the reuse window. */
  private forget(): void {
    const cutoff = this.clock.now() - this.opts.reuseWindowMs;
    while (this.departed.length && this.departed[0]!.goneAt <= cutoff) {
      const { ip, uid, goneAt } = this.departed.shift()!;
      const owners = this.byIP.get(ip);
      const owner = owners?.get(uid);
      // The same pod may have come back to the address since (and left again later): only this departure goes.
      if (!owners || !owner || owner.pod || owner.goneAt !== goneAt) continue;
      owners.delete(uid);
      if (owners.size === 0) this.byIP.delete(ip);
    }
  }
}
