/**
 * GuardedConnection over a real loopback socket pair: what aedes writes corked (mqtt-packet writes
 * a packet in pieces between cork() and uncork()) reaches the socket corked, so the pieces leave
 * together instead of one by one behind Nagle's algorithm; and an oversized announcement is never
 * handed on.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GuardedConnection } from '../../../../cloud-sync/service/broker/guarded-connection.js';
import { PacketGuard } from '../../../../cloud-sync/service/broker/packet-guard.js';
import { fixedHeader } from './helpers.js';

const LIMITS = { beforeAuthPacketBytes: 100, beforeAuthTotalBytes: 1_000, afterAuthPacketBytes: 10_000 };

describe('GuardedConnection', () => {
  const server = createServer();
  const accepted: Socket[] = [];
  let port = 0;

  before(async () => {
    server.on('connection', (socket) => accepted.push(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    port = address.port;
  });

  after(async () => {
    for (const socket of accepted) socket.destroy();
    server.close();
    await once(server, 'close');
  });

  async function pair(): Promise<{ client: Socket; serverSide: Socket }> {
    const client = connect(port, '127.0.0.1');
    await once(client, 'connect');
    while (accepted.length === 0) await once(server, 'connection');
    const serverSide = accepted.shift() as Socket;
    return { client, serverSide };
  }

  it('hands pieces written corked to the socket corked', async () => {
    const { client, serverSide } = await pair();
    const guarded = new GuardedConnection(serverSide, new PacketGuard(LIMITS), () => {});
    const corkedAtWrite: number[] = [];
    const write = serverSide.write.bind(serverSide) as (...args: unknown[]) => boolean;
    serverSide.write = ((...args: unknown[]) => {
      corkedAtWrite.push(serverSide.writableCorked);
      return write(...args);
    }) as typeof serverSide.write;

    guarded.cork();
    guarded.write(Buffer.from([0x40, 0x02]));
    guarded.write(Buffer.from([0x00, 0x01]));
    process.nextTick(() => guarded.uncork());
    const received: Buffer[] = [];
    await new Promise<void>((resolve) => {
      client.on('data', (chunk: Buffer) => {
        received.push(chunk);
        if (Buffer.concat(received).length >= 4) resolve();
      });
    });

    assert.deepEqual(Buffer.concat(received), Buffer.from([0x40, 0x02, 0x00, 0x01]));
    assert.equal(corkedAtWrite.length, 2);
    assert.ok(
      corkedAtWrite.every((corked) => corked > 0),
      `every piece was written to a corked socket: ${JSON.stringify(corkedAtWrite)}`,
    );
    client.destroy();
    guarded.destroy();
  });

  it('never hands on a chunk announcing more than the limit, and closes the socket', async () => {
    const { client, serverSide } = await pair();
    const refusals: string[] = [];
    const guarded = new GuardedConnection(serverSide, new PacketGuard(LIMITS), (verdict) =>
      refusals.push(verdict.reason),
    );
    const handedOn: Buffer[] = [];
    guarded.on('data', (chunk: Buffer) => handedOn.push(chunk));
    guarded.on('error', () => {});
    const closed = once(client, 'close');
    client.write(Buffer.concat([fixedHeader(0x10, 200 * 1024 * 1024), Buffer.alloc(64)]));
    await closed;
    assert.deepEqual(refusals, ['packet_too_large']);
    assert.equal(handedOn.length, 0);
  });
});
