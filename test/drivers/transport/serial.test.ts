/**
 * SerialTransport on a real pseudo-terminal pair made by socat: the serialport package, the
 * kernel's tty layer and our code run exactly as on an RS-485 adapter, minus the wire.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPtyPair, type PtyPair } from '../../../simulators/pty-pair.js';
import { SerialTransport } from '../../../drivers/transport/serial.js';
import { isModbusError } from '../../../drivers/modbus/errors.js';
import { requireCommand } from '../../helpers/peers.js';
import { waitFor } from '../../helpers/wait.js';

async function until(condition: () => boolean, what: string, limitMs = 5000): Promise<void> {
  await waitFor(what, condition, {
    timeoutMs: limitMs,
    intervalMs: 5,
    message: () => `timed out waiting for ${what}`,
  });
}

describe('SerialTransport over a socat pty pair', () => {
  let pair: PtyPair;
  const transports: SerialTransport[] = [];

  before(async () => {
    requireCommand('socat', 'socat');
    pair = await createPtyPair('socat');
  });

  after(async () => {
    for (const t of transports) await t.close();
    await pair?.close();
  });

  function open(path: string): SerialTransport {
    const t = new SerialTransport({ path });
    transports.push(t);
    return t;
  }

  it('describes itself with the line settings (default 9600 8E1, MSL 2.5.1)', () => {
    const t = new SerialTransport({ path: '/dev/ttyUSB9' });
    assert.equal(t.description, '/dev/ttyUSB9@9600-8E1');
    assert.equal(
      new SerialTransport({
        path: '/dev/x',
        serial: { baudRate: 19200, dataBits: 8, parity: 'none', stopBits: 2 },
      }).description,
      '/dev/x@19200-8N2',
    );
  });

  it('moves bytes both ways', async () => {
    const a = open(pair.a);
    const b = open(pair.b);
    await a.open();
    await b.open();
    const atB: Buffer[] = [];
    const atA: Buffer[] = [];
    b.onData((chunk) => atB.push(chunk));
    a.onData((chunk) => atA.push(chunk));
    await a.write(Buffer.from([0x01, 0x03, 0x00, 0x00, 0x00, 0x0a, 0xc5, 0xcd]));
    await b.write(Buffer.from([0xff, 0x00]));
    await until(() => Buffer.concat(atB).length === 8 && Buffer.concat(atA).length === 2, 'the bytes');
    assert.deepEqual(Buffer.concat(atB), Buffer.from([0x01, 0x03, 0x00, 0x00, 0x00, 0x0a, 0xc5, 0xcd]));
    assert.deepEqual(Buffer.concat(atA), Buffer.from([0xff, 0x00]));
  });

  it('a requested close tells listeners without an error, and open() reopens', async () => {
    const a = transports[0] ?? open(pair.a);
    const closes: Array<Error | undefined> = [];
    const off = a.onClose((error) => closes.push(error));
    await a.close();
    assert.deepEqual(closes, [undefined]);
    assert.equal(a.isOpen, false);
    await assert.rejects(a.write(Buffer.from([1])), (e: unknown) => isModbusError(e, 'MODBUS_TRANSPORT'));
    await a.open();
    assert.equal(a.isOpen, true);
    off();
    const b = transports[1];
    assert.ok(b);
    const atB: Buffer[] = [];
    b.onData((chunk) => atB.push(chunk));
    await a.write(Buffer.from([0x42]));
    await until(() => atB.length > 0, 'bytes after the reopen');
  });

  it('a path that does not exist fails open() with MODBUS_TRANSPORT', async () => {
    const t = open('/dev/does-not-exist-kerbside');
    await assert.rejects(
      t.open(),
      (e: unknown) => isModbusError(e, 'MODBUS_TRANSPORT') && /does-not-exist/.test(e.message),
    );
  });

  // Last: it destroys the pair. Killing socat is what an unplugged USB adapter looks like to us.
  it('a vanished device: close listeners get MODBUS_TRANSPORT, writes fail', async () => {
    const a = transports[0];
    assert.ok(a?.isOpen);
    const closes: Array<Error | undefined> = [];
    a.onClose((error) => closes.push(error));
    await pair.close();
    await until(() => closes.length === 1, 'the close notice');
    assert.ok(isModbusError(closes[0], 'MODBUS_TRANSPORT'), String(closes[0]));
    assert.equal(a.isOpen, false);
    await assert.rejects(a.write(Buffer.from([1])), (e: unknown) => isModbusError(e, 'MODBUS_TRANSPORT'));
  });
});
