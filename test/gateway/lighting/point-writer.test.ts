/**
 * Writing lighting points (gateway/lighting/point-writer.ts) on a fake bus: written only when the
 * device does not hold the value, rewritten when a later poll shows it lost it, retried with
 * backoff, answered to whoever waits for the write, and a point table that survives a new plan.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { PointValue } from '../../../gateway/bus/types.js';
import { LightingWriter, sameValue, type PointSpec } from '../../../gateway/lighting/point-writer.js';

const LOOP: PointSpec = { deviceId: 'lc', pointKey: 'loop_1_command', target: 'loop_1', action: 'switch' };
const DIM: PointSpec = { deviceId: 'lc', pointKey: 'lamp_01.dim_level', target: 'lamp_01', action: 'dim' };

function rig() {
  const clock = { mono: 1_000 };
  const writes: string[] = [];
  const bus = { failing: false };
  const writer = new LightingWriter({
    writer: (_deviceId, pointKey, value) => {
      writes.push(`${pointKey}=${String(value)}`);
      return bus.failing ? Promise.reject(new Error('MODBUS_TIMEOUT: no answer')) : Promise.resolve();
    },
    logger: pino({ level: 'silent' }),
    monoNow: () => clock.mono,
    retry: { initialMs: 2_000, maxMs: 8_000 },
  });
  writer.reindex([LOOP, DIM]);
  const want = async (point: PointSpec, value: PointValue | null): Promise<void> => {
    writer.want(point.deviceId, point.pointKey, value, 'astronomical', clock.mono);
    await writer.idle();
  };
  return { writer, writes, bus, clock, want };
}

describe('LightingWriter', () => {
  it('writes a new intent once, and reports it as a lighting_action', async () => {
    const r = rig();
    await r.want(LOOP, true);
    await r.want(LOOP, true);
    assert.deepEqual(r.writes, ['loop_1_command=true']);
    assert.deepEqual(r.writer.takeActions(), [
      {
        kind: 'lighting_action',
        deviceId: 'lc',
        target: 'loop_1',
        action: 'switch',
        value: true,
        reason: 'astronomical',
        ok: true,
        error: null,
      },
    ]);
    assert.deepEqual(r.writer.takeActions(), []);
    assert.deepEqual(r.writer.held('lc', 'loop_1_command'), { value: true, sinceMonoMs: 1_000 });
  });

  it('writes again with reason restore when a later poll shows the device lost the value', async () => {
    const r = rig();
    await r.want(LOOP, true);
    r.clock.mono += 1_000;
    r.writer.readBack('lc', 'loop_1_command', false, r.clock.mono);
    await r.want(LOOP, true);
    assert.deepEqual(r.writes, ['loop_1_command=true', 'loop_1_command=true']);
    assert.deepEqual(
      r.writer.takeActions().map((a) => a.reason),
      ['astronomical', 'restore'],
    );
  });

  it('skips a write whose fresh read-back already shows the value; ignores one from before the write', async () => {
    const r = rig();
    r.writer.readBack('lc', 'lamp_01.dim_level', 60, r.clock.mono);
    await r.want(DIM, 60);
    assert.deepEqual(r.writes, []);
    await r.want(DIM, 80);
    r.writer.readBack('lc', 'lamp_01.dim_level', 60, 500); // a poll that started before the write
    r.writer.forgetConfirmed(); // as after a restart: only a fresh read-back counts now
    await r.want(DIM, 80);
    assert.deepEqual(r.writes, ['lamp_01.dim_level=80', 'lamp_01.dim_level=80']);
  });

  it('retries a failed write with doubling backoff, and at once when the device answers again', async () => {
    const r = rig();
    r.bus.failing = true;
    await r.want(LOOP, true);
    await r.want(LOOP, true); // within the 2 s backoff
    assert.equal(r.writes.length, 1);
    r.clock.mono += 2_000;
    await r.want(LOOP, true);
    assert.equal(r.writes.length, 2);
    r.clock.mono += 3_999; // the second backoff is 4 s
    await r.want(LOOP, true);
    assert.equal(r.writes.length, 2);
    r.writer.retryNow('lc');
    r.bus.failing = false;
    await r.want(LOOP, true);
    assert.equal(r.writes.length, 3);
    assert.deepEqual(
      r.writer.takeActions().map((a) => a.ok),
      [false, true],
      'the first failure and the success are reported, not every retry',
    );
  });

  it('answers whoever waits for the write of a value, even one the device is believed to hold', async () => {
    const r = rig();
    await r.want(LOOP, true);
    const expected = r.writer.expectAnswer('lc', 'loop_1_command', true);
    await r.want(LOOP, true);
    await expected.answered;
    expected.release();
    assert.equal(r.writes.length, 2);

    r.bus.failing = true;
    const failed = r.writer.expectAnswer('lc', 'loop_1_command', false);
    await r.want(LOOP, false);
    await assert.rejects(failed.answered, /MODBUS_TIMEOUT/);
    failed.release();

    const refused = r.writer.expectAnswer('lc', 'lamp_01.dim_level', 40);
    r.writer.refuse('lc', 'lamp_01.dim_level', 40, new Error('not written: the loop is off'));
    await assert.rejects(refused.answered, /loop is off/);
    refused.release();
  });

  it('a new plan keeps what is known of the points that stay; its undo restores the old table', async () => {
    const r = rig();
    await r.want(LOOP, true);
    const undo = r.writer.reindex([LOOP]);
    assert.equal(r.writer.has('lc', 'lamp_01.dim_level'), false);
    await r.want(LOOP, true);
    assert.equal(r.writes.length, 1, 'the loop is still known to hold true: no rewrite');
    undo();
    assert.equal(r.writer.has('lc', 'lamp_01.dim_level'), true);
    assert.equal(r.writer.intent('lc', 'loop_1_command')?.value, true);
  });

  it('compares booleans and 0/1 as equal: a bool in a whole register may decode either way', () => {
    assert.equal(sameValue(true, 1), true);
    assert.equal(sameValue(false, 0), true);
    assert.equal(sameValue(true, 0), false);
    assert.equal(sameValue(50, 50), true);
  });
});
