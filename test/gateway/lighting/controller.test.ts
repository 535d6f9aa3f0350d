import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { DevicePollResult, PointValue } from '../../../gateway/bus/types.js';
import { LightingController } from '../../../gateway/lighting/controller.js';
import { LightingError, type LightingConfig } from '../../../gateway/lighting/types.js';
import { cst, lightingConfig, shippedProfile } from './helpers.js';

const NOON = cst('2025-06-20T12:00');
const NIGHT = cst('2025-06-20T22:00');

interface Write {
  deviceId: string;
  pointKey: string;
  value: PointValue;
}

/** A controller on a fake bus: writes are recorded, and fail while `failing` is set. */
function rig(config: LightingConfig = lightingConfig(), logger: Logger = pino({ level: 'silent' })) {
  let mono = 1_000;
  const writes: Write[] = [];
  const state = { failing: false };
  const controller = new LightingController({
    config,
    devices: [{ id: 'lc', profile: shippedProfile('kerbtek-lc3200') }],
    writer: (deviceId, pointKey, value) => {
      writes.push({ deviceId, pointKey, value });
      return state.failing ? Promise.reject(new Error('MODBUS_TIMEOUT: no answer')) : Promise.resolve();
    },
    logger,
    cabinetId: 'gw-test',
    monoNow: () => mono,
  });
  return {
    controller,
    writes,
    state,
    advance(ms: number): void {
      mono += ms;
    },
    now: (wallMs: number) => ({ wallMs, monoMs: mono }),
    poll(readings: Record<string, PointValue>, quality: DevicePollResult['quality'] = 'good'): void {
      controller.onPoll({
        busId: 'bus',
        deviceId: 'lc',
        wallTimeMs: 0,
        monotonicMs: mono,
        quality,
        readings: Object.entries(readings).map(([key, value]) => ({ key, value })),
        errors: [],
      });
    },
    async tick(wallMs: number) {
      const out = controller.tick({ wallMs, monoMs: mono });
      await controller.idle();
      return out;
    },
  };
}

const keys = (writes: Write[]): string[] => writes.map((w) => `${w.pointKey}=${String(w.value)}`);

describe('LightingController: writes', () => {
  it('after a start asserts every loop once; lamps on loops scheduled off are left to the contactor', async () => {
    const r = rig();
    r.controller.start();
    await r.tick(NOON);
    assert.deepEqual(keys(r.writes), [
      'loop_1_command=false',
      'loop_2_command=false',
      'loop_3_command=false',
      'loop_4_command=false',
    ]);
    await r.tick(NOON);
    assert.equal(r.writes.length, 4, 'nothing new to write');
    const out = r.controller.tick(r.now(NOON));
    assert.deepEqual(out.actions, [], 'actions are reported once');
  });

  it('reports each completed write as a lighting_action event on the next tick', async () => {
    const r2 = rig();
    r2.controller.start();
    r2.controller.tick(r2.now(NOON));
    await r2.controller.idle();
    const second = r2.controller.tick(r2.now(NOON));
    assert.deepEqual(second.actions[0], {
      kind: 'lighting_action',
      deviceId: 'lc',
      target: 'loop_1',
      action: 'switch',
      value: false,
      reason: 'astronomical',
      ok: true,
      error: null,
    });
    assert.equal(second.actions.length, 4);
  });

  it('at night switches loops on first, then each lamp: level before switch', async () => {
    const r = rig();
    r.controller.start();
    await r.tick(NIGHT);
    const written = keys(r.writes);
    assert.deepEqual(written.slice(0, 4), [
      'loop_1_command=true',
      'loop_2_command=true',
      'loop_3_command=true',
      'loop_4_command=true',
    ]);
    assert.deepEqual(written.slice(4, 6), ['lamp_01.dim_level=100', 'lamp_01.lamp_switch=true']);
    assert.equal(written.length, 4 + 16 * 2);
  });

  it('lamps on no configured loop are switched by their own lamp_switch', async () => {
    const config = lightingConfig();
    const device = config.devices[0];
    if (device) device.loops = [];
    const r = rig(config);
    r.controller.start();
    await r.tick(NOON);
    assert.equal(r.writes.length, 16);
    assert.ok(r.writes.every((w) => w.pointKey.endsWith('.lamp_switch') && w.value === false));
  });

  it('skips a point whose fresh read-back already shows the desired value', async () => {
    const r = rig();
    r.controller.start();
    r.poll({ loop_1_command: false, loop_2_command: false, loop_3_command: false, loop_4_command: true });
    await r.tick(NOON);
    assert.deepEqual(keys(r.writes), ['loop_4_command=false']);
  });

  it('writes again with reason "restore" when the device loses a written value', async () => {
    const r = rig();
    r.controller.start();
    await r.tick(NOON);
    r.controller.tick(r.now(NOON)); // collect the four ok actions
    r.advance(100);
    // A poll started before the write completed would be ignored; this one started after it.
    r.poll({ loop_1_command: false, loop_2_command: true, loop_3_command: false, loop_4_command: false });
    await r.tick(NOON);
    assert.deepEqual(keys(r.writes.slice(4)), ['loop_2_command=false']);
    const out = r.controller.tick(r.now(NOON));
    assert.deepEqual(
      out.actions.map((a) => [a.target, a.reason, a.ok]),
      [['loop_2', 'restore', true]],
    );
  });

  it('ignores a read-back from a poll that started before the write completed', async () => {
    const r = rig();
    r.controller.start();
    r.advance(100);
    await r.tick(NOON);
    r.advance(-50); // a poll that began 50 ms before the write finished, delivered after it
    r.poll({ loop_1_command: true });
    r.advance(50);
    await r.tick(NOON);
    assert.equal(r.writes.length, 4);
  });

  it('retries a failed write with backoff, reports the first failure and the final success', async () => {
    const r = rig();
    r.state.failing = true;
    r.controller.start();
    await r.tick(NOON);
    let out = r.controller.tick(r.now(NOON));
    assert.equal(out.actions.length, 4);
    assert.deepEqual(
      out.actions.map((a) => [a.ok, a.error]),
      Array(4).fill([false, 'MODBUS_TIMEOUT: no answer']),
    );
    r.advance(1_000);
    await r.tick(NOON);
    assert.equal(r.writes.length, 4, 'no retry before the 2 s backoff');
    r.advance(1_100);
    await r.tick(NOON);
    assert.equal(r.writes.length, 8, 'retried after 2 s');
    out = r.controller.tick(r.now(NOON));
    assert.equal(out.actions.length, 0, 'a second failure is only logged');
    r.advance(3_000);
    await r.tick(NOON);
    assert.equal(r.writes.length, 8, 'second backoff is 4 s');
    r.state.failing = false;
    r.advance(1_100);
    await r.tick(NOON);
    assert.equal(r.writes.length, 12);
    out = r.controller.tick(r.now(NOON));
    assert.deepEqual(
      out.actions.map((a) => a.ok),
      [true, true, true, true],
    );
  });

  it('logs a batch of writes as one info line, not a line per point; a batch that wrote nothing at debug', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const r = rig(lightingConfig(), pino({ level: 'debug' }, destination));
    r.controller.start();
    await r.tick(NIGHT);
    assert.ok(r.writes.length > 20, `a night start writes loops, levels and switches: ${r.writes.length}`);
    const info = (): Array<Record<string, unknown>> =>
      lines.filter((l) => Number(l['level']) >= 30 && l['msg'] !== 'lighting controller started');
    assert.deepEqual(
      info().map((l) => [l['msg'], l['writes'], l['failed'], l['reasons']]),
      [[`lighting applied: ${r.writes.length} writes`, r.writes.length, 0, ['astronomical']]],
    );
    assert.equal(lines.filter((l) => l['msg'] === 'lighting point written').length, r.writes.length);
    assert.ok(lines.filter((l) => l['msg'] === 'lighting point written').every((l) => l['level'] === 20));

    // A restart asserts every point again, and every write fails: each point warns, and the
    // batch that wrote nothing says so only at debug.
    await r.controller.stop();
    r.state.failing = true;
    r.controller.start();
    const before = lines.length;
    const written = r.writes.length;
    await r.tick(NIGHT);
    const failed = r.writes.length - written;
    assert.ok(failed > 0);
    const warned = lines
      .slice(before)
      .filter((l) => l['msg'] === 'lighting write failed; retrying with backoff');
    assert.equal(warned.length, failed);
    const batch = lines.slice(before).filter((l) => /^lighting applied/.test(String(l['msg'])));
    assert.deepEqual(
      batch.map((l) => [l['level'], l['msg']]),
      [[20, `lighting applied: 0 writes, ${failed} failed`]],
    );
  });

  it('retries at once when the device answers polls again after failing them', async () => {
    const r = rig();
    r.state.failing = true;
    r.controller.start();
    await r.tick(NOON);
    r.poll({}, 'failed');
    r.state.failing = false;
    r.advance(100);
    r.poll({ door_open: false }, 'good');
    await r.tick(NOON);
    assert.equal(r.writes.length, 8, 'no wait for the backoff');
  });

  it('a new desired value is written at once even during a backoff', async () => {
    const r = rig();
    r.state.failing = true;
    r.controller.start();
    await r.tick(NOON);
    r.state.failing = false;
    r.advance(10);
    await r.tick(NIGHT);
    assert.deepEqual(keys(r.writes.slice(4, 8)), [
      'loop_1_command=true',
      'loop_2_command=true',
      'loop_3_command=true',
      'loop_4_command=true',
    ]);
  });

  it('writes nothing before start or after stop', async () => {
    const r = rig();
    await r.tick(NIGHT);
    assert.equal(r.writes.length, 0);
    r.controller.start();
    await r.controller.stop();
    await r.tick(NIGHT);
    assert.equal(r.writes.length, 0);
  });
});

describe('LightingController: overrides', () => {
  it('an override switches at once and the schedule resumes when it expires', async () => {
    const r = rig();
    r.controller.start();
    await r.tick(NOON);
    r.controller.override({
      target: 'lc:loop_3',
      action: 'on',
      durationMs: 10 * 60_000,
      by: 'tech-wang',
      reason: 'lamp test',
    });
    await r.tick(NOON);
    assert.deepEqual(keys(r.writes.slice(4, 5)), ['loop_3_command=true']);
    let out = r.controller.tick(r.now(NOON));
    assert.deepEqual(
      out.actions.filter((a) => a.target === 'loop_3').map((a) => a.reason),
      ['override'],
    );
    assert.equal(out.desired.find((d) => d.target === 'lc:loop_3')?.state.on, true);
    r.advance(10 * 60_000);
    out = r.controller.tick(r.now(NOON));
    assert.equal(out.desired.find((d) => d.target === 'lc:loop_3')?.state.reason, 'astronomical');
    await r.controller.idle();
    assert.deepEqual(r.controller.overrides(), []);
    assert.equal(r.writes.at(-1)?.pointKey, 'loop_3_command');
    assert.equal(r.writes.at(-1)?.value, false);
  });

  it('cancelOverride ends it; a cloud command override reports reason "command"', async () => {
    const r = rig();
    r.controller.start();
    await r.tick(NOON);
    r.controller.override({
      target: 'lc',
      action: 'on',
      expiresAtMonoMs: 1_000_000,
      by: 'cloud:operator-7',
      reason: 'inspection',
      origin: 'command',
    });
    await r.tick(NOON);
    const out = r.controller.tick(r.now(NOON));
    assert.ok(out.actions.length > 0 && out.actions.every((a) => a.reason === 'command'));
    assert.equal(r.controller.cancelOverride('lc', 'cloud:operator-7'), true);
    assert.equal(r.controller.cancelOverride('lc', 'cloud:operator-7'), false);
  });

  it('rejects unknown targets and malformed overrides with LightingError', () => {
    const r = rig();
    const base = { action: 'on' as const, durationMs: 60_000, by: 'me', reason: 'why' };
    const code = (fn: () => unknown, expected: string): void =>
      assert.throws(fn, (e: unknown) => e instanceof LightingError && e.code === expected);
    code(() => r.controller.override({ ...base, target: 'lc:loop_9' }), 'LIGHTING_UNKNOWN_TARGET');
    code(() => r.controller.override({ ...base, target: 'lc', action: 'dim' }), 'LIGHTING_BAD_OVERRIDE');
    code(() => r.controller.override({ ...base, target: 'lc', value: 150 }), 'LIGHTING_BAD_OVERRIDE');
    code(
      () => r.controller.override({ ...base, target: 'lc', action: 'off', value: 10 }),
      'LIGHTING_BAD_OVERRIDE',
    );
    code(
      () => r.controller.override({ ...base, target: 'lc', expiresAtMonoMs: 5_000 }),
      'LIGHTING_BAD_OVERRIDE',
    );
    code(() => r.controller.override({ ...base, target: 'lc', by: ' ' }), 'LIGHTING_BAD_OVERRIDE');
    code(
      () => r.controller.override({ ...base, target: 'lc', durationMs: 8 * 24 * 3_600_000 }),
      'LIGHTING_BAD_OVERRIDE',
    );
    assert.ok(r.controller.targets().includes('lc:lamp_16'));
  });
});
