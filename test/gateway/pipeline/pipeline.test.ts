/**
 * The pipeline against a real store and a real alarm engine: one cycle commits readings, alarm
 * transitions and their outbox events together, and a failing optional stage costs nothing else.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pino from 'pino';
import { AlarmEngine } from '../../../gateway/alarms/engine.js';
import { resolveAlarmRules } from '../../../gateway/alarms/rules.js';
import type { DevicePollResult } from '../../../gateway/bus/types.js';
import { EventBus } from '../../../gateway/events/event-bus.js';
import { Pipeline, type StrainStage } from '../../../gateway/pipeline/pipeline.js';
import { loadProfileDirectory } from '../../../gateway/profiles/loader.js';
import { createCommitter } from '../../../gateway/store/committer.js';
import { openGatewayStore } from '../../../gateway/store/event-store.js';
import { TelemetryReporter } from '../../../gateway/telemetry/reporter.js';

const tmp = mkdtempSync(join(tmpdir(), 'kerbside-pipeline-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const gasProfile = loadProfileDirectory().profiles.get('anqi-gd300');
if (!gasProfile) throw new Error('gas profile missing');

function poll(h2s: number): DevicePollResult {
  return {
    busId: 'b',
    deviceId: 'gas',
    wallTimeMs: Date.now(),
    monotonicMs: performance.now(),
    quality: 'good',
    readings: [
      { key: 'h2s', value: h2s },
      { key: 'ch4', value: 1 },
      { key: 'o2', value: 20.9 },
    ],
    errors: [],
  };
}

describe('pipeline', () => {
  it('commits readings, the alarm transition and its outbox event in one cycle, even when an optional stage throws', () => {
    const logger = pino({ level: 'silent' });
    const store = openGatewayStore(join(tmp, 'a'), { logger });
    const engine = new AlarmEngine(resolveAlarmRules('gas', gasProfile), [], {
      devices: [{ deviceId: 'gas', busId: 'b', children: [] }],
    });
    const broken: StrainStage = {
      onPoll() {
        throw new Error('analyzer bug');
      },
    };
    const events = new EventBus(logger);
    const changed: string[] = [];
    events.on('alarm:changed', (t) => changed.push(`${t.alarmKey} ${t.to} ${t.level}`));
    const pipeline = new Pipeline({
      store,
      committer: createCommitter(store, events),
      engine,
      telemetry: new TelemetryReporter({ profiles: new Map([['gas', gasProfile]]) }),
      strain: new Map([['gas', broken]]),
      lighting: null,
      events,
      logger,
    });
    pipeline.onPoll(poll(12)); // above the 10 mg/m³ level 1 set point (no on-delay on h2s_high)
    const result = pipeline.flush();
    store.close();
    assert.ok(result && result.readings === 3, 'the readings were stored');
    assert.deepEqual(changed, ['gas:h2s_high unacknowledged 1'], 'announced after the commit');

    const db = new Database(join(tmp, 'a', 'kerbside.db'), { readonly: true });
    const rows = db
      .prepare<[], { kind: string; seq: number }>(
        "SELECT kind, seq FROM outbox WHERE kind = 'alarm_transition'",
      )
      .all();
    const history = db.prepare<[], number>('SELECT outbox_seq FROM alarm_history').pluck().all();
    db.close();
    assert.equal(rows.length, 1);
    assert.deepEqual(history, [rows[0]?.seq], 'history row and outbox event share the seq');
  });
});
