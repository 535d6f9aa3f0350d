/** TcpTransport against a local node:net server (loopback only). */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { TcpTransport, backoffDelayMs } from '../../../drivers/transport/tcp.js';
import { isModbusError } from '../../../drivers/modbus/errors.js';
import { waitFor } from '../../helpers/wait.js';

interface TestServer {
  server: net.Server;
  port: number;
  sockets: net.Socket[];
  received: Buffer[];
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(port = 0): Promise<TestServer> {
  const sockets: net.Socket[] = [];
  const received: Buffer[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (chunk) => {
      received.push(chunk);
      socket.write(chunk); // echo
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(async () => {
    if (server.listening) await close();
  });
  return { server, port: address.port, sockets, received, close };
}

function transport(
  port: number,
  reconnect?: { initialMs: number; maxMs: number },
  random?: () => number,
): TcpTransport {
  const t = new TcpTransport({
    host: '127.0.0.1',
    port,
    connectTimeoutMs: 1000,
    ...(reconnect ? { reconnect } : {}),
    ...(random ? { random } : {}),
  });
  cleanups.push(() => t.close());
  return t;
}

async function until(condition: () => boolean, what: string, limitMs = 5000): Promise<void> {
  await waitFor(what, condition, {
    timeoutMs: limitMs,
    intervalMs: 5,
    message: () => `timed out waiting for ${what}`,
  });
}

describe('TcpTransport', () => {
  it('keeps one connection and reuses it for every write', async () => {
    const srv = await startServer();
    const t = transport(srv.port);
    const echoed: Buffer[] = [];
    t.onData((chunk) => echoed.push(chunk));
    await t.open();
    assert.equal(t.isOpen, true);
    assert.equal(t.description, `127.0.0.1:${srv.port}`);
    for (let i = 0; i < 5; i++) await t.write(Buffer.from([i]));
    await until(() => Buffer.concat(echoed).length === 5, 'the echo');
    assert.equal(srv.sockets.length, 1);
    assert.deepEqual(Buffer.concat(echoed), Buffer.from([0, 1, 2, 3, 4]));
  });

  it('a refused connection rejects open() with MODBUS_TRANSPORT', async () => {
    const srv = await startServer();
    const port = srv.port;
    await srv.close();
    const t = transport(port);
    await assert.rejects(t.open(), (e: unknown) => isModbusError(e, 'MODBUS_TRANSPORT'));
    assert.equal(t.isOpen, false);
  });

  it('write() while disconnected rejects with MODBUS_TRANSPORT', async () => {
    const t = transport(1);
    await assert.rejects(t.write(Buffer.from([1])), (e: unknown) => isModbusError(e, 'MODBUS_TRANSPORT'));
  });

  it('a drop is reported to close listeners with an error, then it reconnects in the background', async () => {
    const srv = await startServer();
    // random() = 0.5: the first reconnect comes 0.5 x 200 ms = 100 ms after the drop.
    const t = transport(srv.port, { initialMs: 200, maxMs: 1000 }, () => 0.5);
    const closes: Array<Error | undefined> = [];
    t.onClose((error) => closes.push(error));
    await t.open();
    await until(() => srv.sockets.length === 1, 'the first connection');
    srv.sockets[0]?.destroy();
    await until(() => closes.length === 1, 'the close notice');
    assert.ok(isModbusError(closes[0], 'MODBUS_TRANSPORT'), String(closes[0]));
    assert.equal(t.isOpen, false);
    await assert.rejects(
      t.write(Buffer.from([1])),
      (e: unknown) => isModbusError(e, 'MODBUS_TRANSPORT'),
      'no queueing while disconnected',
    );
    await until(() => srv.sockets.length === 2 && t.isOpen, 'the reconnect');
    await t.write(Buffer.from([42]));
    await until(() => srv.received.some((c) => c.includes(42)), 'the write on the new connection');
  });

  it('a failed open() keeps retrying with reconnect set, until the peer appears', async (c) => {
    const connects = c.mock.method(net, 'connect'); // counts the attempts, still connects
    const srv = await startServer();
    const port = srv.port;
    await srv.close();
    const t = transport(port, { initialMs: 10, maxMs: 50 });
    await assert.rejects(t.open(), (e: unknown) => isModbusError(e, 'MODBUS_TRANSPORT'));
    // Two background attempts after the failed open(), so the peer below is found by a retry.
    await until(() => connects.mock.callCount() >= 3, 'two background retries');
    assert.equal(t.isOpen, false);
    const back = await startServer(port);
    await until(() => t.isOpen && back.sockets.length === 1, 'the background connect');
  });

  it('close() stops reconnecting and tells listeners without an error', async (c) => {
    const srv = await startServer();
    const t = transport(srv.port, { initialMs: 5, maxMs: 10 });
    const closes: Array<Error | undefined> = [];
    await t.open();
    await until(() => srv.sockets.length === 1, 'the connection');
    t.onClose((error) => closes.push(error));
    // The transport's timers on a fake clock, and its connection attempts counted: a reconnect
    // timer left armed by close() would run, and call net.connect, inside the tick below.
    c.mock.timers.enable({ apis: ['setTimeout'] });
    const connects = c.mock.method(net, 'connect');
    await t.close();
    assert.deepEqual(closes, [undefined]);
    assert.equal(t.isOpen, false);
    c.mock.timers.tick(10 * 1000); // far past maxMs (10 ms) and the close's 500 ms FIN wait
    c.mock.timers.reset();
    assert.equal(connects.mock.callCount(), 0, 'no reconnect attempt after close()');
    assert.equal(srv.sockets.length, 1, 'no reconnect after close()');
    await t.open();
    assert.equal(t.isOpen, true, 'open() after close() connects again');
  });
});

describe('backoffDelayMs (full jitter)', () => {
  const options = { initialMs: 100, maxMs: 5000 };
  it('is random() x min(maxMs, initialMs x 2^attempt)', () => {
    assert.equal(
      backoffDelayMs(0, options, () => 0.5),
      50,
    );
    assert.equal(
      backoffDelayMs(3, options, () => 0.5),
      400,
    );
    assert.equal(
      backoffDelayMs(10, options, () => 0.5),
      2500,
    ); // capped at maxMs
    assert.equal(
      backoffDelayMs(1000, options, () => 0.999),
      4995,
    ); // no overflow for long outages
    assert.equal(
      backoffDelayMs(4, options, () => 0),
      0,
    );
  });
});
