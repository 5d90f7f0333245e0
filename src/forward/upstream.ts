// One upstream server: queries over a few connected UDP sockets (so an ICMP port-unreachable fails the query at
// once instead of after the timeout), each reply matched on ID *and* question (anything else is ignored and
// counted as a possible spoof), a retry over TCP when the reply is truncated, and health state: after
// `maxFails` consecutive failures the upstream is down until a health-check query gets any answer.
import { UpstreamError } from '../base/errors.js';
export { UpstreamError };
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { type Cancel, type Clock, systemClock } from '../base/clock.js';
import { RRType } from '../dns/constants.js';
import { type DecodedMessage, decodeMessage, isResponse, isTruncated, messageId } from '../dns/decode-message.js';
import { FrameSplitter, frame } from '../dns/framing.js';
import { type UpstreamQuery, encodeQuery } from '../dns/encode-query.js';
import { type UpstreamAddress, addressText } from '../net/address.js';


export interface UpstreamStats {
  queries: number;
  failures: number;
  mismatched: number;
  tcpRetries: number;
  healthCheckFailures: number;
}

interface Pending {
  query: UpstreamQuery;
  resolve(m: DecodedMessage): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

const SOCKETS = 4;

class UdpChannel {
  private socket: dgram.Socket | undefined;
  /** Resolves once connect() has completed: a send before that would need an address. */
  private connected: Promise<void> = Promise.resolve();
  readonly pending = new Map<number, Pending>();

  constructor(
    private readonly addr: UpstreamAddress,
    private readonly onMismatch: () => void,
  ) {}

  private open(): dgram.Socket {
    if (this.socket) return this.socket;
    const socket = dgram.createSocket(net.isIPv6(this.addr.host) ? 'udp6' : 'udp4');
    socket.on('message', (msg) => this.receive(msg));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // On a connected UDP socket an ICMP port/host unreachable surfaces here: fail everything in flight now.
      const kind = err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH' ? 'unreachable' : 'network';
      this.failAll(new UpstreamError(kind, `${addressText(this.addr)}: ${err.code ?? err.message}`));
      this.close();
    });
    this.connected = new Promise((resolve) => socket.connect(this.addr.port, this.addr.host, () => resolve()));
    socket.unref();
    this.socket = socket;
    return socket;
  }

  private receive(msg: Buffer): void {
    const id = messageId(msg);
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p) return this.onMismatch();
    let decoded: DecodedMessage;
    try {
      decoded = decodeMessage(msg);
    } catch (err) {
      this.finish(p).reject(new UpstreamError('malformed', `${addressText(this.addr)}: undecodable reply (${(err as Error).message})`));
      return;
    }
    const q = decoded.question;
    if (!q || q.type !== p.query.type || q.qclass !== p.query.qclass || q.name.toLowerCase() !== p.query.name.toLowerCase() || !isResponse(decoded)) {
      return this.onMismatch(); // a reply to something else: keep waiting for the real one
    }
    this.finish(p).resolve(decoded);
  }

  private finish(p: Pending): Pending {
    clearTimeout(p.timer);
    this.pending.delete(p.query.id);
    return p;
  }

  send(query: Omit<UpstreamQuery, 'id'>, timeoutMs: number): Promise<DecodedMessage> {
    const socket = this.open();
    let id = randomInt(0, 65536);
    while (this.pending.has(id)) id = (id + 1) & 0xffff;
    const q: UpstreamQuery = { ...query, id };
    return new Promise((resolve, reject) => {
      const p: Pending = {
        query: q,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.finish(p).reject(new UpstreamError('timeout', `${addressText(this.addr)}: no reply within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.pending.set(id, p);
      const failed = (err: Error | null): void => {
        if (err && this.pending.get(id) === p) this.finish(p).reject(new UpstreamError('network', `${addressText(this.addr)}: ${err.message}`));
      };
      void this.connected.then(() => (this.socket === socket ? socket.send(encodeQuery(q), failed) : failed(new Error('socket closed'))));
    });
  }

  private failAll(err: Error): void {
    for (const p of [...this.pending.values()]) this.finish(p).reject(err);
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  destroy(): void {
    this.failAll(new UpstreamError('network', 'closed'));
    this.close();
  }
}

function exchangeTcp(addr: UpstreamAddress, query: UpstreamQuery, timeoutMs: number): Promise<DecodedMessage> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: addr.host, port: addr.port });
    const frames = new FrameSplitter();
    const fail = (e: UpstreamError): void => {
      socket.destroy();
      reject(e);
    };
    socket.setTimeout(timeoutMs, () => fail(new UpstreamError('timeout', `${addressText(addr)} (tcp): no reply within ${timeoutMs} ms`)));
    socket.on('connect', () => {
      socket.write(frame(encodeQuery(query)));
    });
    socket.on('data', (d: Buffer) => {
      frames.push(d);
      const reply = frames.next();
      if (!reply) return;
      socket.end();
      try {
        const m = decodeMessage(reply);
        if (m.id !== query.id || m.question?.name.toLowerCase() !== query.name.toLowerCase() || m.question.type !== query.type) {
          fail(new UpstreamError('malformed', `${addressText(addr)} (tcp): reply does not match the query`));
        } else resolve(m);
      } catch (err) {
        fail(new UpstreamError('malformed', `${addressText(addr)} (tcp): undecodable reply (${(err as Error).message})`));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      fail(new UpstreamError(err.code === 'ECONNREFUSED' ? 'unreachable' : 'network', `${addressText(addr)} (tcp): ${err.code ?? err.message}`)),
    );
    socket.on('close', () => fail(new UpstreamError('network', `${addressText(addr)} (tcp): closed before a reply`)));
  });
}

export interface UpstreamOptions {
  maxFails: number;
  healthCheckMs: number;
  /** When health checks run (tests pass a fake one); per-try timeouts stay on real time. */
  clock?: Clock;
}

export class Upstream {
  readonly name: string;
  readonly stats: UpstreamStats = { queries: 0, failures: 0, mismatched: 0, tcpRetries: 0, healthCheckFailures: 0 };
  private readonly channels: UdpChannel[];
  private next = 0;
  private consecutiveFails = 0;
  /** Set while the upstream is down: stops its health checks. */
  private stopHealthChecks: Cancel | undefined;
  /** Set by the loop detector: this upstream sends our queries back to us. */
  looping = false;

  constructor(
    readonly address: UpstreamAddress,
    private readonly opts: UpstreamOptions,
  ) {
    this.name = addressText(address);
    this.channels = Array.from({ length: SOCKETS }, () => new UdpChannel(address, () => this.stats.mismatched++));
  }

  get down(): boolean {
    return this.stopHealthChecks !== undefined;
  }

  get usable(): boolean {
    return !this.down && !this.looping;
  }

  /** One try: UDP, then TCP if the UDP reply is truncated. Health bookkeeping included. */
  async exchange(query: Omit<UpstreamQuery, 'id'>, timeoutMs: number): Promise<DecodedMessage> {
    this.stats.queries++;
    try {
      const channel = this.channels[this.next++ % SOCKETS]!;
      let reply = await channel.send(query, timeoutMs);
      if (isTruncated(reply)) {
        this.stats.tcpRetries++;
        reply = await exchangeTcp(this.address, { ...query, id: randomInt(0, 65536) }, timeoutMs);
      }
      this.consecutiveFails = 0;
      return reply;
    } catch (err) {
      this.stats.failures++;
      if (++this.consecutiveFails >= this.opts.maxFails) this.markDown();
      throw err;
    }
  }

  private markDown(): void {
    if (this.stopHealthChecks) return;
    const clock = this.opts.clock ?? systemClock;
    let cancel: Cancel = () => undefined;
    // Every healthCheckMs, whether or not the last check has answered yet. Any reply to a probe — even
    // REFUSED — means the server is there again (CoreDNS forward's rule).
    const check = (): void => {
      cancel = clock.after(this.opts.healthCheckMs, check, { unref: true });
      this.channels[0]!
        .send({ name: '', type: RRType.NS, qclass: 1, recursionDesired: false, checkingDisabled: false, dnssecOk: false }, Math.max(100, this.opts.healthCheckMs))
        .then(() => this.markUp())
        .catch(() => this.stats.healthCheckFailures++);
    };
    cancel = clock.after(this.opts.healthCheckMs, check, { unref: true });
    this.stopHealthChecks = () => cancel();
  }

  private markUp(): void {
    this.stopHealthChecks?.();
    this.stopHealthChecks = undefined;
    this.consecutiveFails = 0;
  }

  close(): void {
    this.stopHealthChecks?.();
    this.stopHealthChecks = undefined;
    for (const c of this.channels) c.destroy();
  }
}
