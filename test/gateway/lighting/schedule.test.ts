import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localCalendar } from '../../../gateway/lighting/local-time.js';
import { dayType, desiredState, ruleActive } from '../../../gateway/lighting/schedule.js';
import { CIVIL_ZENITH_DEG, sunTimes } from '../../../gateway/lighting/sun.js';
import { buildPlan } from '../../../gateway/lighting/targets.js';
import type { DesiredState, LightingConfig, Override } from '../../../gateway/lighting/types.js';
import { BEIJING, cst, instant, lightingConfig, shippedProfile } from './helpers.js';

const profiles = new Map([['lc', shippedProfile('kerbtek-lc3200')]]);

function desired(
  config: LightingConfig,
  wallMs: number,
  overrides: Override[] = [],
  monoMs = 1_000_000,
): Map<string, DesiredState> {
  const plan = buildPlan(config, profiles);
  return desiredState(
    config,
    plan,
    instant(wallMs, monoMs),
    localCalendar(wallMs, config.timezone),
    overrides,
  );
}

function stateOf(map: Map<string, DesiredState>, target: string): DesiredState {
  const state = map.get(target);
  if (!state) assert.fail(`no desired state for ${target}`);
  return state;
}

/** Sunset and sunrise of a Beijing date, UTC ms. */
function sun(date: string, zenith?: number): { rise: number; set: number } {
  const t = sunTimes(date, BEIJING.latitude, BEIJING.longitude, zenith);
  if (t.type !== 'normal') assert.fail('Beijing always has a sunrise');
  return { rise: t.sunriseUtcMs, set: t.sunsetUtcMs };
}

const MIN = 60_000;
const JUNE = '2025-06-20'; // a Friday
const { rise: juneRise, set: juneSet } = sun(JUNE);

describe('desiredState: astronomical switching with offsets', () => {
  const table: Array<{
    name: string;
    config: Partial<LightingConfig>;
    at: number;
    on: boolean;
  }> = [
    { name: 'one minute before sunset: off', config: {}, at: juneSet - MIN, on: false },
    { name: 'one minute after sunset: on', config: {}, at: juneSet + MIN, on: true },
    { name: 'one minute before sunrise: on', config: {}, at: juneRise - MIN, on: true },
    { name: 'one minute after sunrise: off', config: {}, at: juneRise + MIN, on: false },
    {
      name: 'on offset -15: ten minutes before sunset already on',
      config: { astronomical: { twilight: 'official', onOffsetMin: -15, offOffsetMin: 0 } },
      at: juneSet - 10 * MIN,
      on: true,
    },
    {
      name: 'on offset +20: ten minutes after sunset still off',
      config: { astronomical: { twilight: 'official', onOffsetMin: 20, offOffsetMin: 0 } },
      at: juneSet + 10 * MIN,
      on: false,
    },
    {
      name: 'off offset +10: five minutes after sunrise still on',
      config: { astronomical: { twilight: 'official', onOffsetMin: 0, offOffsetMin: 10 } },
      at: juneRise + 5 * MIN,
      on: true,
    },
    {
      name: 'off offset +10: fifteen minutes after sunrise off',
      config: { astronomical: { twilight: 'official', onOffsetMin: 0, offOffsetMin: 10 } },
      at: juneRise + 15 * MIN,
      on: false,
    },
    {
      name: 'civil twilight: ten minutes after sunset still off (dusk is ~30 min later)',
      config: { astronomical: { twilight: 'civil', onOffsetMin: 0, offOffsetMin: 0 } },
      at: juneSet + 10 * MIN,
      on: false,
    },
    {
      name: 'civil twilight: one minute after civil dusk on',
      config: { astronomical: { twilight: 'civil', onOffsetMin: 0, offOffsetMin: 0 } },
      at: sun(JUNE, CIVIL_ZENITH_DEG).set + MIN,
      on: true,
    },
    { name: 'noon: off', config: {}, at: cst(`${JUNE}T12:00`), on: false },
    { name: 'midnight: on', config: {}, at: cst(`${JUNE}T00:00`), on: true },
  ];
  for (const row of table) {
    it(row.name, () => {
      const map = desired(lightingConfig(row.config), row.at);
      for (const target of ['lc:loop_1', 'lc:loop_4', 'lc:lamp_01', 'lc:lamp_16']) {
        const state = stateOf(map, target);
        assert.equal(state.on, row.on, `${target}: ${state.detail}`);
        assert.equal(state.reason, 'astronomical');
        assert.equal(state.dimLevel, row.on ? 100 : 0);
      }
    });
  }

  it('explains itself: "after sunset HH:MM +0 min"', () => {
    const state = stateOf(desired(lightingConfig(), juneSet + MIN), 'lc:loop_1');
    assert.match(state.detail, /^after sunset 19:\d\d \+0 min$/);
  });

  it('polar day: no switching on; polar night: on all day (Tromsø)', () => {
    const tromso = lightingConfig({ latitude: 69.6492, longitude: 18.9553, timezone: 'Europe/Oslo' });
    assert.equal(stateOf(desired(tromso, Date.parse('2024-06-21T00:00:00+02:00')), 'lc:loop_1').on, false);
    assert.equal(stateOf(desired(tromso, Date.parse('2024-12-21T12:00:00+01:00')), 'lc:loop_1').on, true);
  });

  it('a wall clock that was never set (1970) fails safe: everything on', () => {
    const state = stateOf(desired(lightingConfig(), 5 * 60_000), 'lc:loop_2');
    assert.equal(state.on, true);
    assert.match(state.detail, /fail-safe/);
  });
});

describe('desiredState: calendars', () => {
  const dimming = { from: '23:00', to: '05:00', level: 50, days: ['weekday', 'weekend', 'holiday'] as const };

  const table: Array<{
    name: string;
    config: Partial<LightingConfig>;
    at: string;
    target?: string;
    on: boolean;
    level: number;
    reason?: string;
    dimReason?: string;
  }> = [
    {
      name: 'midnight dimming: 22:59 full level',
      config: { midnightDimming: { ...dimming, days: [...dimming.days] } },
      at: `${JUNE}T22:59`,
      on: true,
      level: 100,
    },
    {
      name: 'midnight dimming: 23:00 dimmed to 50 %',
      config: { midnightDimming: { ...dimming, days: [...dimming.days] } },
      at: `${JUNE}T23:00`,
      on: true,
      level: 50,
      reason: 'astronomical',
      dimReason: 'calendar',
    },
    {
      name: 'midnight dimming: 04:30 next morning still dimmed',
      config: { midnightDimming: { ...dimming, days: [...dimming.days] } },
      at: '2025-06-21T04:30',
      on: true,
      level: 50,
    },
    {
      name: 'midnight dimming never switches on: after sunrise at 05:00 in June it stays off',
      config: { midnightDimming: { ...dimming, from: '23:00', to: '06:00', days: [...dimming.days] } },
      at: '2025-06-21T05:30',
      on: false,
      level: 0,
    },
    {
      name: 'weekday-only dimming: Friday 23:30 dimmed',
      config: { midnightDimming: { ...dimming, days: ['weekday'] } },
      at: '2025-06-20T23:30',
      on: true,
      level: 50,
    },
    {
      name: 'weekday-only dimming: Saturday 02:00 belongs to Friday night, dimmed',
      config: { midnightDimming: { ...dimming, days: ['weekday'] } },
      at: '2025-06-21T02:00',
      on: true,
      level: 50,
    },
    {
      name: 'weekday-only dimming: Saturday 23:30 not dimmed',
      config: { midnightDimming: { ...dimming, days: ['weekday'] } },
      at: '2025-06-21T23:30',
      on: true,
      level: 100,
    },
    {
      name: 'weekday-only dimming: Sunday 02:00 (Saturday night) not dimmed',
      config: { midnightDimming: { ...dimming, days: ['weekday'] } },
      at: '2025-06-22T02:00',
      on: true,
      level: 100,
    },
    {
      name: 'adjusted working day (调休): Sunday 2025-09-28 counts as a weekday',
      config: { workdays: ['2025-09-28'], midnightDimming: { ...dimming, days: ['weekday'] } },
      at: '2025-09-28T23:30',
      on: true,
      level: 50,
    },
    {
      name: 'holiday rule: festival lighting on at 17:30 on National Day (before sunset)',
      config: {
        holidays: ['2025-10-01'],
        rules: [
          {
            id: 'festival',
            days: ['holiday'],
            from: '17:00',
            to: '23:30',
            action: 'on',
            level: 80,
            targets: [],
          },
        ],
      },
      at: '2025-10-01T17:30',
      on: true,
      level: 80,
      reason: 'calendar',
    },
    {
      name: 'holiday rule: not on an ordinary Thursday',
      config: {
        holidays: ['2025-10-01'],
        rules: [
          {
            id: 'festival',
            days: ['holiday'],
            from: '17:00',
            to: '23:30',
            action: 'on',
            level: 80,
            targets: [],
          },
        ],
      },
      at: '2025-10-09T17:30',
      on: false,
      level: 0,
      reason: 'astronomical',
    },
    {
      name: 'half-night lighting: loop 4 off after 00:30',
      config: {
        rules: [
          {
            id: 'half-night',
            days: ['weekday', 'weekend', 'holiday'],
            from: '00:30',
            to: '05:00',
            action: 'off',
            level: null,
            targets: ['lc:loop_4'],
          },
        ],
      },
      at: '2025-06-21T01:00',
      target: 'lc:loop_4',
      on: false,
      level: 0,
      reason: 'calendar',
    },
    {
      name: 'half-night lighting: a lamp on loop 4 follows its loop rule',
      config: {
        rules: [
          {
            id: 'half-night',
            days: ['weekday', 'weekend', 'holiday'],
            from: '00:30',
            to: '05:00',
            action: 'off',
            level: null,
            targets: ['lc:loop_4'],
          },
        ],
      },
      at: '2025-06-21T01:00',
      target: 'lc:lamp_14',
      on: false,
      level: 0,
    },
    {
      name: 'half-night lighting: loop 1 stays on',
      config: {
        rules: [
          {
            id: 'half-night',
            days: ['weekday', 'weekend', 'holiday'],
            from: '00:30',
            to: '05:00',
            action: 'off',
            level: null,
            targets: ['lc:loop_4'],
          },
        ],
      },
      at: '2025-06-21T01:00',
      target: 'lc:loop_1',
      on: true,
      level: 100,
      reason: 'astronomical',
    },
    {
      name: 'an explicit dim rule wins over midnight dimming (rules are checked first)',
      config: {
        midnightDimming: { ...dimming, days: [...dimming.days] },
        rules: [
          {
            id: 'crossing',
            days: ['weekday', 'weekend', 'holiday'],
            from: '00:00',
            to: '00:00',
            action: 'dim',
            level: 80,
            targets: ['lc:lamp_02'],
          },
        ],
      },
      at: '2025-06-21T01:00',
      target: 'lc:lamp_02',
      on: true,
      level: 80,
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const state = stateOf(desired(lightingConfig(row.config), cst(row.at)), row.target ?? 'lc:lamp_01');
      assert.equal(state.on, row.on, state.detail);
      assert.equal(state.dimLevel, row.level, state.detail);
      if (row.reason) assert.equal(state.reason, row.reason);
      if (row.dimReason) assert.equal(state.dimReason, row.dimReason);
    });
  }

  it('day types: holiday beats everything, listed working days are weekdays', () => {
    const cal = { holidays: ['2025-10-01'], workdays: ['2025-09-28'] };
    assert.equal(dayType(cal, '2025-10-01'), 'holiday'); // Wednesday
    assert.equal(dayType(cal, '2025-09-28'), 'weekday'); // Sunday, adjusted working day
    assert.equal(dayType(cal, '2025-09-27'), 'weekend');
    assert.equal(dayType(cal, '2025-09-26'), 'weekday');
  });

  it('a window with from == to covers the whole day', () => {
    const all = { days: ['weekday' as const], from: '00:00', to: '00:00' };
    const cal = { holidays: [], workdays: [] };
    assert.equal(ruleActive(cal, all, localCalendar(cst('2025-06-20T13:37'), 'Asia/Shanghai')), true);
    assert.equal(ruleActive(cal, all, localCalendar(cst('2025-06-21T13:37'), 'Asia/Shanghai')), false);
  });
});

describe('desiredState: overrides', () => {
  const night = cst('2025-06-20T22:00');
  const day = cst('2025-06-20T12:00');
  const override = (o: Partial<Override> & Pick<Override, 'target' | 'action'>): Override => ({
    level: null,
    expiresAtMonoMs: 2_000_000,
    by: 'tech-li',
    reason: 'lamp test',
    origin: 'local',
    ...o,
  });

  it('an override on one lamp beats the schedule for that lamp only', () => {
    const map = desired(lightingConfig(), night, [override({ target: 'lc:lamp_03', action: 'off' })]);
    assert.deepEqual(
      { on: stateOf(map, 'lc:lamp_03').on, reason: stateOf(map, 'lc:lamp_03').reason },
      { on: false, reason: 'override' },
    );
    assert.equal(stateOf(map, 'lc:lamp_04').on, true);
    assert.equal(stateOf(map, 'lc:loop_1').on, true);
  });

  it('a cabinet override switches everything on in daylight (lamp test)', () => {
    const map = desired(lightingConfig(), day, [override({ target: 'lc', action: 'on' })]);
    for (const state of map.values())
      assert.deepEqual([state.on, state.dimLevel, state.reason], [true, 100, 'override']);
  });

  it('the most specific override wins: lamp over loop over cabinet', () => {
    const map = desired(lightingConfig(), night, [
      override({ target: 'lc', action: 'off' }),
      override({ target: 'lc:loop_2', action: 'dim', level: 30 }),
      override({ target: 'lc:lamp_06', action: 'dim', level: 70 }),
    ]);
    assert.equal(stateOf(map, 'lc:loop_1').on, false);
    assert.equal(stateOf(map, 'lc:lamp_01').on, false);
    assert.deepEqual([stateOf(map, 'lc:loop_2').on, stateOf(map, 'lc:lamp_05').dimLevel], [true, 30]);
    assert.equal(stateOf(map, 'lc:lamp_06').dimLevel, 70);
  });

  it('an override beats calendar rules and midnight dimming', () => {
    const config = lightingConfig({
      midnightDimming: { from: '23:00', to: '05:00', level: 50, days: ['weekday', 'weekend', 'holiday'] },
    });
    const map = desired(config, cst('2025-06-20T23:30'), [override({ target: 'lc:lamp_01', action: 'on' })]);
    assert.equal(stateOf(map, 'lc:lamp_01').dimLevel, 100);
    assert.equal(stateOf(map, 'lc:lamp_02').dimLevel, 50);
  });

  it('an expired override is ignored: the schedule resumes', () => {
    const o = override({ target: 'lc', action: 'off', expiresAtMonoMs: 1_000 });
    assert.equal(stateOf(desired(lightingConfig(), night, [o], 999), 'lc:loop_1').on, false);
    assert.equal(stateOf(desired(lightingConfig(), night, [o], 1_000), 'lc:loop_1').on, true);
  });

  it('an override from a cloud command is reported with reason "command"', () => {
    const map = desired(lightingConfig(), day, [
      override({ target: 'lc:loop_3', action: 'on', origin: 'command' }),
    ]);
    assert.equal(stateOf(map, 'lc:loop_3').reason, 'command');
  });
});
