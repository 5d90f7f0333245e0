// freePort hands out numbers for DNS servers, which bind them on UDP and TCP; a number taken on UDP by this
// process's own clients must never be handed out.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { freePort, isPortClash, onFreePorts, udpFree } from '../../cluster/ports.js';

function bindUdp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind({ address: '127.0.0.1', port }, () => resolve(socket));
  });
}

describe('freePort', () => {
  it('hands out ports that bind on UDP and are never handed out twice', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    assert.equal(new Set(ports).size, 3);
    const sockets = await Promise.all(ports.map(bindUdp));
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  it('sees a number held on UDP as taken, and free again once released', async () => {
    const socket = await bindUdp(0);
    const port = socket.address().port;
    assert.equal(await udpFree(port), false);
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    assert.equal(await udpFree(port), true);
  });

  it('recognises a bind clash in the logs of Go, NSD and Node servers', () => {
    assert.ok(isPortClash('listen udp 127.0.0.1:5353: bind: address already in use'));
    assert.ok(isPortClash('cluster-dns: cannot listen for DNS on 127.0.0.1:35629: EADDRINUSE'));
    assert.ok(!isPortClash('cannot listen for DNS on 127.0.0.1:53: EACCES'));
  });

  it('starts again on a bind clash, up to three times, and gives any other failure back at once', async () => {
    let calls = 0;
    const clashTwice = async (): Promise<string> => {
      if (++calls < 3) throw new Error('CoreDNS did not start: listen tcp 127.0.0.1:5353: bind: address already in use');
      return 'up';
    };
    assert.equal(await onFreePorts(clashTwice), 'up');
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(onFreePorts(async () => {
      calls++;
      throw new Error('cannot listen for DNS on 127.0.0.1:1: EADDRINUSE');
    }), /EADDRINUSE/);
    assert.equal(calls, 3, 'gives up after three clashes');
    calls = 0;
    await assert.rejects(onFreePorts(async () => {
      calls++;
      throw new Error('no_such_plugin');
    }), /no_such_plugin/);
    assert.equal(calls, 1);
  });
});
