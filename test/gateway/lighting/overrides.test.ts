/**
 * Lighting overrides (gateway/lighting/overrides.ts): checked before they are set, one per
 * target, ended by expiry on the monotonic clock or by cancel, and kept or dropped target by
 * target by a configuration change, which can be undone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { LightingOverrides } from '../../../gateway/lighting/overrides.js';
import { LightingError, type OverrideCommand } from '../../../gateway/lighting/types.js';

const TARGETS = ['lc', 'lc:loop_1', 'lc:lamp_01'];

function table(maxOverrideMs?: number) {
  const clock = { mono: 10_000 };
  const overrides = new LightingOverrides({
    logger: pino({ level: 'silent' }),
    monoNow: () => clock.mono,
    ...(maxOverrideMs === undefined ? {} : { maxOverrideMs }),
  });
  return { overrides, clock };
}

const base: OverrideCommand = {
  target: 'lc:loop_1',
  action: 'on',
  durationMs: 60_000,
  by: 'me',
  reason: 'why',
};

describe('LightingOverrides', () => {
  it('sets an override with its expiry on the monotonic clock, the dim level rounded, origin local by default', () => {
    const { overrides } = table();
    const set = overrides.set({ ...base, action: 'dim', value: 49.6 }, TARGETS);
    assert.deepEqual(set, {
      target: 'lc:loop_1',
      action: 'dim',
      level: 50,
      expiresAtMonoMs: 70_000,
      by: 'me',
      reason: 'why',
      origin: 'local',
    });
    assert.deepEqual(overrides.list(), [set]);
  });

  it('one per target: a new override replaces the old; cancel ends it once', () => {
    const { overrides } = table();
    overrides.set(base, TARGETS);
    overrides.set({ ...base, action: 'off', origin: 'command' }, TARGETS);
    assert.deepEqual(
      overrides.list().map((o) => `${o.target} ${o.action} ${o.origin}`),
      ['lc:loop_1 off command'],
    );
    assert.equal(overrides.cancel('lc:loop_1', 'me'), true);
    assert.equal(overrides.cancel('lc:loop_1', 'me'), false);
    assert.deepEqual(overrides.list(), []);
  });

  it('expires at its time, not before', () => {
    const { overrides } = table();
    overrides.set(base, TARGETS);
    overrides.expire(69_999);
    assert.equal(overrides.list().length, 1);
    overrides.expire(70_000);
    assert.deepEqual(overrides.list(), []);
  });

  it('refuses unknown targets and malformed overrides with LightingError, setting nothing', () => {
    const { overrides } = table(3_600_000);
    const code = (cmd: OverrideCommand, expected: string): void =>
      assert.throws(
        () => overrides.set(cmd, TARGETS),
        (e: unknown) => e instanceof LightingError && e.code === expected,
      );
    code({ ...base, target: 'lc:loop_9' }, 'LIGHTING_UNKNOWN_TARGET');
    code({ ...base, action: 'dim' }, 'LIGHTING_BAD_OVERRIDE');
    code({ ...base, value: 150 }, 'LIGHTING_BAD_OVERRIDE');
    code({ ...base, action: 'off', value: 10 }, 'LIGHTING_BAD_OVERRIDE');
    code({ ...base, expiresAtMonoMs: 5_000, durationMs: undefined }, 'LIGHTING_BAD_OVERRIDE');
    code({ ...base, expiresAtMonoMs: 20_000 }, 'LIGHTING_BAD_OVERRIDE'); // both given
    code({ ...base, by: ' ' }, 'LIGHTING_BAD_OVERRIDE');
    code({ ...base, reason: '' }, 'LIGHTING_BAD_OVERRIDE');
    code({ ...base, durationMs: 2 * 3_600_000 }, 'LIGHTING_BAD_OVERRIDE'); // over the 1 h maximum
    assert.deepEqual(overrides.list(), []);
  });

  it('a configuration change keeps the overrides of targets that still exist; its undo brings all back', () => {
    const { overrides } = table();
    overrides.set(base, TARGETS);
    overrides.set({ ...base, target: 'lc:lamp_01' }, TARGETS);
    const undo = overrides.retain(new Set(['lc', 'lc:lamp_01']));
    assert.deepEqual(
      overrides.list().map((o) => o.target),
      ['lc:lamp_01'],
    );
    undo();
    assert.deepEqual(
      overrides.list().map((o) => o.target),
      ['lc:loop_1', 'lc:lamp_01'],
    );
  });
});
