/**
 * A truck above the load threshold (docs/domain.md "Bridge load": per-bridge thresholds, 85 t level
 * 1 and 95 t level 2 in the real template; peak detection on temperature-corrected strain with a
 * calibrated factor), end to end: the qiaoce-vw8 strain logger simulator on Modbus TCP (scenario
 * bridge-traffic, an overweight truck of 115-130 t entering at 3 s among random cars and trucks)
 * polled every 100 ms by a real gateway with a `strain` section (load factor 0.348 t/µε, the
 * factor of the simulator's traffic model, docs/strain.md). What counts: exactly one overweight
 * event committed to the outbox with its peak and level, and the raw readings around it kept in
 * raw_windows / raw_window_readings.
 *
 * The simulators' clock stands at 0 until the gateway has committed a good poll, so the analyzer
 * has seen the empty bridge before the truck enters, however slow the start is.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OverweightEvent } from '../../cloud-sync/contract/events.js';
import {
  ScenarioClock,
  startScenario,
  storeProblems,
  tcpEndpoint,
  waitUntil,
  type OutboxRow,
  type ScenarioHarness,
} from '../helpers/gateway-harness.js';

const LOGGER = 'pier-3-strain';
/** A seed whose random traffic leaves the span quiet just before the truck (test/gateway/strain/integration.test.ts). */
const SEED = 1;
const WINDOW_BEFORE_S = 2;
const WINDOW_AFTER_S = 1;
const CHANNELS = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => `strain_${n}`);

interface WindowRow {
  id: string;
  deviceId: string;
  reason: string;
  fromMonoMs: number;
  toMonoMs: number;
}

describe('an overweight truck on the bridge (qiaoce-vw8 on Modbus TCP) through a real gateway', () => {
  const clock = new ScenarioClock();
  let h: ScenarioHarness;
  let event: OutboxRow<OverweightEvent>;
  let window: WindowRow;

  before(async () => {
    h = await startScenario({
      name: 'strain',
      buses: [tcpEndpoint('lan')],
      devices: [
        {
          id: LOGGER,
          bus: 'lan',
          unitId: 1,
          profile: 'qiaoce-vw8',
          scenario: 'bridge-traffic:firstOverweightS=3',
          seed: SEED,
          gateway: { pollIntervalMs: 100, timeoutMs: 500 },
        },
      ],
      clock,
      config: {
        strain: [
          {
            device: LOGGER,
            material: 'concrete',
            referenceTemperatureC: 15,
            loadFactorTonnesPerMicrostrain: 0.348,
            overweightTonnes: [85, 95],
            windowBeforeS: WINDOW_BEFORE_S,
            windowAfterS: WINDOW_AFTER_S,
          },
        ],
      },
    });
    clock.start();
    // The truck enters at 3 s and leaves the 40 m span by about 9 s; the event ends a hold later.
    event = await waitUntil(
      'an overweight event in the outbox',
      () => h.db.outbox<OverweightEvent>('overweight')[0],
      { timeoutMs: 25_000, detail: () => h.logs.slice(-5).join('\n') },
    );
    window = await waitUntil(
      'its raw window',
      () =>
        h.db.all<WindowRow>(
          `SELECT id, device_id AS deviceId, reason, from_mono_ms AS fromMonoMs, to_mono_ms AS toMonoMs
         FROM raw_windows WHERE id = ?`,
          event.body.windowId,
        )[0],
    );
    // Readings until 1.5 s past the window's end are committed: the window is complete, and a
    // (wrong) second event from the same truck would have been reported by then.
    await waitUntil('readings past the end of the window', () =>
      h.db.readings(LOGGER, 'strain_1').some((r) => r.monoMs > window.toMonoMs + 1_500),
    );
  });
  after(() => h?.stop());

  it('commits exactly one overweight event, level 2, with its peak', () => {
    const rows = h.db.outbox<OverweightEvent>('overweight');
    assert.equal(rows.length, 1, JSON.stringify(rows.map((r) => r.body)));
    const o = event.body;
    assert.equal(event.class, 'alarm', 'overweight is alarm class: never evicted');
    assert.equal(o.deviceId, LOGGER);
    assert.equal(o.level, 2);
    assert.equal(o.thresholdTonnes, 95);
    assert.ok(
      o.estimatedTonnes > 110 && o.estimatedTonnes < 140,
      `${o.estimatedTonnes} t for a 115-130 t truck`,
    );
    assert.ok(o.peakMicrostrain > 300, `${o.peakMicrostrain} µε`);
    assert.ok(
      Math.abs(o.estimatedTonnes - o.peakMicrostrain * 0.348) < 0.5,
      'estimated weight = peak × load factor',
    );
    assert.ok(
      ['strain_1', 'strain_2', 'strain_3', 'strain_4'].includes(o.channel),
      `lane 1 girder: ${o.channel}`,
    );
    assert.ok(o.durationMs > 2_000 && o.durationMs < 9_000, `${o.durationMs} ms`);
    assert.deepEqual(
      h.overweight.map((e) => e.windowId),
      [o.windowId],
      'one strain:overweight on the event bus, for the committed event',
    );
  });

  it('keeps the raw readings around it (raw_windows)', () => {
    const o = event.body;
    assert.equal(window.deviceId, LOGGER);
    assert.match(window.reason, /^overweight/);
    const span = window.toMonoMs - window.fromMonoMs;
    const expected = o.durationMs + (WINDOW_BEFORE_S + WINDOW_AFTER_S) * 1000;
    assert.ok(
      Math.abs(span - expected) <= 2,
      `window of ${span} ms = event ${o.durationMs} ms + 2 s before + 1 s after`,
    );

    const kept = h.db.all<{ pointKey: string; monoMs: number; value: number }>(
      `SELECT s.point_key AS pointKey, w.mono_ms AS monoMs, w.value FROM raw_window_readings w
       JOIN series s ON s.id = w.series_id WHERE w.window_id = ? ORDER BY w.reading_seq`,
      o.windowId,
    );
    for (const channel of CHANNELS) {
      const series = kept.filter((r) => r.pointKey === channel);
      // Polled every 100 ms: about ten readings a second over the whole span.
      assert.ok(series.length >= (span / 1000) * 5, `${channel}: ${series.length} readings over ${span} ms`);
      const first = series[0];
      const last = series.at(-1);
      assert.ok(first && last);
      assert.ok(
        first.monoMs >= window.fromMonoMs && first.monoMs - window.fromMonoMs < 600,
        `${channel} starts with the window`,
      );
      assert.ok(
        last.monoMs <= window.toMonoMs && window.toMonoMs - last.monoMs < 600,
        `${channel} ends with the window`,
      );
    }
    // The peak is in the kept readings: the peak channel rises by the event's peak (the span is
    // quiet just before the truck with this seed; temperature moves a fraction of a µε meanwhile).
    const peakChannel = kept.filter((r) => r.pointKey === o.channel);
    const rise = Math.max(...peakChannel.map((r) => r.value)) - (peakChannel[0]?.value ?? NaN);
    assert.ok(
      Math.abs(rise - o.peakMicrostrain) < 0.05 * o.peakMicrostrain,
      `kept readings of ${o.channel} rise ${rise.toFixed(1)} µε; the event's peak is ${o.peakMicrostrain.toFixed(1)} µε`,
    );
    // Every reading of the logger inside the span was copied.
    const stored = h.db.all<{ n: number }>(
      `SELECT COUNT(*) AS n FROM readings r JOIN series s ON s.id = r.series_id
       WHERE s.device_id = ? AND r.mono_ms BETWEEN ? AND ?`,
      LOGGER,
      window.fromMonoMs,
      window.toMonoMs,
    )[0]?.n;
    assert.equal(kept.length, stored, 'the window holds every reading of the logger in its span');
  });

  it('left a consistent kerbside.db (history and outbox in step, records = last transitions)', () => {
    assert.deepEqual(storeProblems(h.db), []);
  });
});
