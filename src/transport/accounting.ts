// What the transports' limits did, shared by every listener of a server (the pipeline outlives reloads, and so
// does this): the metrics read it (ops/metrics.ts), the listeners count into it. `queuedBytes` is the memory the
// limits bound: reply bytes handed to sockets but not yet taken by the kernel, and TCP bytes held for
// incomplete messages.
export class TransportAccounting {
  queuedBytes = 0;
  /** TCP connections we stopped reading from because their replies were not being read. */
  paused = 0;
  /** TCP connections closed for the same reason (too far behind, or their incomplete message would not fit). */
  closed = 0;
  /** Replies not sent: their TCP connection was gone, or a UDP socket's send queue was over the limit. */
  dropped = { tcp: 0, udp: 0 };
  /** Queries answered REFUSED because too many were already waiting on an upstream. */
  refusedInFlight = 0;
}
