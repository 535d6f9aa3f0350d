/** The one mock transport: what tests of the client (and of the bus, later) rely on. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MockTransport } from '../../../drivers/transport/mock.js';
import { isModbusError } from '../../../drivers/modbus/errors.js';
import { waitFor } from '../../helpers/wait.js';

async function until(condition: () => boolean, what: string, limitMs = 5000): Promise<void> {
  await waitFor(what, condition, {
    timeoutMs: limitMs,
    intervalMs: 1,
    message: () => `timed out waiting for ${what}`,
  });
}

async function opened(): Promise<{ mock: MockTransport; received: Buffer[] }> {
  const mock = new MockTransport('test-mock');
  await mock.open();
  const received: Buffer[] = [];
  mock.onData((chunk) => received.push(chunk));
  return { mock, received };
}

describe('MockTransport', () => {
  it('records written frames, in order, as copies', async () => {
    const { mock } = await opened();
    const frame = Buffer.from([1, 2, 3]);
    await mock.write(frame);
    frame[0] = 9;
    await mock.write(Buffer.from([4]));
    assert.deepEqual(mock.written, [Buffer.from([1, 2, 3]), Buffer.from([4])]);
    assert.ok((mock.writes[1]?.at ?? 0) >= (mock.writes[0]?.at ?? 0));
    assert.equal(mock.kind, 'mock');
    assert.equal(mock.description, 'test-mock');
  });

  it('answers with one buffer after the write resolved', async () => {
    const { mock, received } = await opened();
    mock.onWrite((frame) => Buffer.from([frame[0] ?? 0, 0xaa]));
    await mock.write(Buffer.from([7]));
    assert.equal(received.length, 0, 'the reply must not arrive inside write()');
    await until(() => received.length > 0, 'the reply');
    assert.deepEqual(received, [Buffer.from([7, 0xaa])]);
  });

  it('answers with chunks, each delivered separately', async () => {
    const { mock, received } = await opened();
    mock.onWrite(() => [Buffer.from([1]), Buffer.from([2, 3])]);
    await mock.write(Buffer.from([0]));
    await until(() => received.length === 2, 'both chunks');
    assert.deepEqual(received, [Buffer.from([1]), Buffer.from([2, 3])]);
  });

  it('answers after a delay and with gaps between chunks', async () => {
    const { mock, received } = await opened();
    mock.onWrite(() => ({ delayMs: 20, chunks: [Buffer.from([1]), Buffer.from([2])], chunkGapMs: 20 }));
    await mock.write(Buffer.from([0]));
    await until(() => received.length === 2, 'both chunks');
    const [first, second] = mock.deliveries;
    assert.ok(first && second && second.at - first.at >= 19, 'the chunks were delivered with the gap');
    assert.ok(first.at - (mock.writes[0]?.at ?? 0) >= 19, 'the first chunk waited for the delay');
  });

  it('stays silent when the responder returns null or none is installed', async () => {
    const { mock, received } = await opened();
    await mock.write(Buffer.from([1]));
    mock.onWrite(() => null);
    await mock.write(Buffer.from([2]));
    // Sentinel: a reply to a third write. Replies are delivered in order, one per turn of the event
    // loop, so once it is here a (wrong) reply to either silent write would be here before it.
    const sentinel = Buffer.from([0x5e]);
    mock.onWrite(() => sentinel);
    await mock.write(Buffer.from([3]));
    await until(() => received.length > 0, 'the sentinel reply');
    assert.deepEqual(received, [sentinel], 'nothing but the sentinel');
  });

  it('inject() pushes unsolicited bytes at once', async () => {
    const { mock, received } = await opened();
    mock.inject([0xde, 0xad]);
    assert.deepEqual(received, [Buffer.from([0xde, 0xad])]);
    assert.equal(mock.deliveries.length, 1);
  });

  it('simulateDisconnect(): close listeners get the error, replies in flight are lost, writes fail', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] }); // the reply's 10 ms delay, stepped
    const { mock, received } = await opened();
    const closes: Array<Error | undefined> = [];
    mock.onClose((error) => closes.push(error));
    mock.onWrite(() => ({ delayMs: 10, chunks: [Buffer.from([1])] }));
    await mock.write(Buffer.from([0]));
    const error = new Error('unplugged');
    mock.simulateDisconnect(error);
    assert.deepEqual(closes, [error]);
    assert.equal(mock.isOpen, false);
    t.mock.timers.tick(20); // past the moment the reply was due
    assert.equal(received.length, 0);
    assert.equal(mock.deliveries.length, 0);
    await assert.rejects(mock.write(Buffer.from([1])), (e: unknown) => isModbusError(e, 'MODBUS_TRANSPORT'));
  });

  it('close() tells listeners without an error, once; open() reopens', async () => {
    const { mock } = await opened();
    const closes: Array<Error | undefined> = [];
    const off = mock.onClose((error) => closes.push(error));
    await mock.close();
    await mock.close();
    assert.deepEqual(closes, [undefined]);
    await mock.open();
    assert.equal(mock.isOpen, true);
    off();
    await mock.close();
    assert.equal(closes.length, 1);
  });
});
