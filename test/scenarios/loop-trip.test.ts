/**
 * Lighting verification (docs/domain.md "Devices": loop switching error = commanded on but no
 * current; lamp failure; docs/lighting.md "Verification"), end to end: the kerbtek-lc3200
 * concentrator on a socat pty at 115200 baud, polled every 250 ms by a real gateway whose
 * `lighting` section keeps every loop on all day (a calendar rule 00:00-00:00 'on', which wins over
 * the astronomical clock) with a 1 s settle time. In the simulator, loop 2's breaker trips
 * (scenario loop-trip) and lamp 1 on loop 1 goes dark while its controller keeps answering without
 * a failure bit (scenario lamp-failure, the bit held off); the simulators' clock is skipped 5 s
 * ahead so both are there from the start. The derived rules carry a fixed 15 s on-delay.
 *
 * The gateway opens a database whose uptime clock stands at 30 days, as on a cabinet restarted
 * after a month of service: the store's uptime clock and the process clock the polls are stamped
 * with are then far apart, and the lighting checks must not mix them up.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import type { LightingActionEvent } from '../../cloud-sync/contract/events.js';
import { GATEWAY_DB_FILE, openGatewayStore } from '../../gateway/store/event-store.js';
import {
  allDayLightingConfig,
  describeTransitions,
  rtuLine,
  ScenarioClock,
  startScenario,
  storeProblems,
  type CommittedTransition,
  type ScenarioHarness,
} from '../helpers/gateway-harness.js';

const LC = 'lighting';
const LOOP_ERROR = `${LC}:derived.switching_error.loop_2`;
const LAMP_ERROR = `${LC}:derived.lamp_failure.lamp_01`;
const ON_DELAY_MS = 15_000;
const THIRTY_DAYS_MS = 30 * 86_400_000;

/** A database that has been in service for 30 days of gateway uptime. */
function seedUptime(dataDir: string): void {
  openGatewayStore(dataDir, { logger: pino({ level: 'silent' }) }).close();
  const db = new Database(join(dataDir, GATEWAY_DB_FILE));
  try {
    db.prepare(
      `INSERT INTO store_meta (key, value) VALUES ('uptime_ms', ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    ).run(THIRTY_DAYS_MS);
  } finally {
    db.close();
  }
}

describe('a tripped loop and a failed lamp (kerbtek-lc3200 on RTU) through a real gateway', () => {
  const clock = new ScenarioClock();
  let h: ScenarioHarness;
  let loopError: CommittedTransition;
  let lampError: CommittedTransition;

  before(async () => {
    h = await startScenario({
      name: 'lighting',
      buses: [rtuLine('line')],
      devices: [
        {
          id: LC,
          bus: 'line',
          unitId: 1,
          profile: 'kerbtek-lc3200',
          scenario: 'loop-trip+lamp-failure:lamp=lamp_01',
          gateway: { pollIntervalMs: 250, timeoutMs: 300 },
        },
      ],
      clock,
      config: {
        ...allDayLightingConfig(LC),
      },
      beforeStart: (dataDir, simulation) => {
        seedUptime(dataDir);
        // The cabinet starts dark: the gateway has to switch every loop on itself.
        for (const n of [1, 2, 3, 4]) simulation.device(LC).set(`loop_${n}_command`, false);
        clock.start();
        clock.skip(5_000); // both scenarios act from their 5th second
      },
    });
    // Lamp 1 is dark but its controller does not say so (no failure bit): only the gateway's own
    // check can tell (a set bit has its own profile alarm, and the check then yields to it).
    h.device(LC).hold('lamp_01.lamp_failure', false);
    const timeoutMs = 35_000;
    loopError = await h.transition(
      'the switching error of loop 2',
      (t) => t.alarmKey === LOOP_ERROR && t.to === 'unacknowledged',
      { timeoutMs },
    );
    lampError = await h.transition(
      'the lamp failure of lamp 1',
      (t) => t.alarmKey === LAMP_ERROR && t.to === 'unacknowledged',
      { timeoutMs },
    );
  });
  after(() => h?.stop());

  it('commands every loop on from the calendar rule', () => {
    const actions = h.db.outbox<LightingActionEvent>('lighting_action').map((r) => r.body);
    for (const n of [1, 2, 3, 4]) {
      assert.ok(
        actions.some(
          (a) =>
            a.deviceId === LC &&
            a.target === `loop_${n}` &&
            a.action === 'switch' &&
            a.value === true &&
            a.reason === 'calendar' &&
            a.ok,
        ),
        `loop ${n} commanded on: ${JSON.stringify(actions.filter((a) => a.target === `loop_${n}`))}`,
      );
    }
  });

  it('raises a switching_error for the tripped loop, after its on-delay', () => {
    assert.deepEqual(
      [loopError.from, loopError.condition, loopError.priority, loopError.active, loopError.value],
      ['normal', 'switching_error', 'high', true, false],
    );
    const firstCommand = h.db.outbox('lighting_action')[0];
    assert.ok(firstCommand);
    assert.ok(
      loopError.monoMs - firstCommand.monoMs >= ON_DELAY_MS,
      `raised ${loopError.monoMs - firstCommand.monoMs} ms after the loop was commanded: the on-delay is 15 s`,
    );
  });

  it('raises a lamp_failure for the failed lamp on a live loop (uptime clock 30 days ahead of the process clock)', () => {
    assert.deepEqual(
      [lampError.from, lampError.condition, lampError.priority, lampError.active],
      ['normal', 'lamp_failure', 'medium', true],
    );
  });

  it('raises nothing else: no error on the healthy loops, no lamp failure per lamp of the dark loop', () => {
    const derived = h.db
      .transitions({ deviceId: LC })
      .filter((t) => t.ruleKey.startsWith('derived.') && t.to === 'unacknowledged');
    assert.deepEqual(
      derived.map((t) => t.alarmKey).sort(),
      [LAMP_ERROR, LOOP_ERROR],
      describeTransitions(h.db.transitions({ deviceId: LC })),
    );
    const standing = h.db.alarms(LC).filter((a) => a.state !== 'normal');
    assert.deepEqual(
      standing.map((a) => [a.alarmKey, a.state]),
      [
        [LAMP_ERROR, 'unacknowledged'],
        [LOOP_ERROR, 'unacknowledged'],
      ],
    );
  });

  it('left a consistent kerbside.db (history and outbox in step, records = last transitions)', () => {
    assert.deepEqual(storeProblems(h.db), []);
  });
});
