/**
 * The tarpit holds connections of a throttled address unread for a while, and never more than its
 * bound: real loopback sockets.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Tarpit } from '../../../../cloud-sync/service/broker/tarpit.js';
import { waitFor } from '../../../helpers/wait.js';

describe('Tarpit', () => {
  let server: Server;
  let port: number;
  const tarpit = new Tarpit(60_000, 2);
  const clients: Socket[] = [];

  before(async () => {
    server = createServer({ pauseOnConnect: true }, (socket) => tarpit.hold(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    tarpit.releaseAll();
    for (const client of clients) client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function client(): Socket {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    clients.push(socket);
    return socket;
  }

  it('holds up to its bound and closes the connection over it at once', async () => {
    const held = [client(), client()];
    await waitFor('two held', () => tarpit.size === 2);
    const over = client();
    await new Promise<void>((resolve) => over.once('close', () => resolve()));
    assert.equal(tarpit.size, 2);
    assert.ok(held.every((socket) => !socket.destroyed));
  });

  it('lets go of every held connection on releaseAll()', async () => {
    tarpit.releaseAll();
    await waitFor('the tarpit to be empty', () => tarpit.size === 0);
    await waitFor('the clients to see the close', () =>
      clients.slice(0, 2).every((socket) => socket.destroyed),
    );
  });
});
