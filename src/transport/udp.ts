// UDP listener: one socket per address; every datagram goes through the pipeline and its reply (if any)
// goes back to the sender. Send errors are logged (the socket's 'error' event), never thrown: a client that
// vanished is not our failure.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Pipeline } from './pipeline.js';

export interface UdpListener {
  address: { address: string; port: number };
  close(): Promise<void>;
}

export async function listenUdp(pipeline: Pipeline, host: string, port: number, maxQueuedBytes: number, onError: (err: Error) => void): Promise<UdpListener> {
  const type = isIPv6(host) ? 'udp6' : 'udp4';
  const socket = dgram.createSocket({ type, reuseAddr: false, ipv6Only: false });
  const acct = pipeline.transport;
  const send = (buf: Buffer, rinfo: dgram.RemoteInfo): void => {
    // Replies the kernel has not taken yet wait in libuv's queue, in our memory. UDP has no backpressure to
    // apply: past the limit a reply is dropped, as a full socket buffer would drop it, and the client retries.
    if (socket.getSendQueueSize() > maxQueuedBytes) {
      acct.dropped.udp++;
      return;
    }
    socket.send(buf, rinfo.port, rinfo.address);
  };
  socket.on('message', (msg, rinfo) => {
    const reply = pipeline.process(msg, 'udp', { address: rinfo.address, family: rinfo.family === 'IPv6' ? 6 : 4 });
    if (reply === undefined) return;
    // No send callback on the hot path: it costs a tick per reply; send errors reach the socket's 'error' event.
    if (reply instanceof Promise) void reply.then((buf) => buf && send(buf, rinfo));
    else send(reply, rinfo);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', onError);
  try {
    // Bursts of queries should queue in the kernel, not be dropped: ask for a larger receive buffer.
    socket.setRecvBufferSize(4 * 1024 * 1024);
    socket.setSendBufferSize(4 * 1024 * 1024);
  } catch {
    /* the kernel cap (net.core.rmem_max) applies; the default still works */
  }
  const addr = socket.address();
  return {
    address: { address: addr.address, port: addr.port },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
