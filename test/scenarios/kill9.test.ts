/**
 * kill -9 of the real gateway process (gateway/main.ts) in the middle of heavy alarm evaluation,
 * three times, then a final restart (docs/storage.md and docs/alarms.md: an event the gateway
 * committed survives; every transition is one history row plus one outbox event, in one
 * transaction; alarm states survive a restart).
 *
 * Simulators in this process: three gas detectors on Modbus TCP whose H2S is flipped between 5,
 * 12 and 22 mg/m³ (normal, level 1, level 2: no on-delay in the profile) every 60 ms, a fourth held
 * at 22 mg/m³ throughout (unacknowledged since the first run), and a manhole cover on a socat pty
 * whose tilt flips across 10° (on-delay set to 0), all polled every 50-100 ms: tens of
 * transitions, chattering reports and readings per second. After each SIGKILL at a random moment
 * the database is checked (gateway-harness storeProblems: integrity, history and outbox in step,
 * seqs 1..n with uptime never going back, transitions chaining, records = last transitions), and
 * everything committed before the kill is still there, unchanged.
 *
 * Before the final restart the flipping stops with every value where the persisted alarm state
 * says it was: the restarted gateway must resume from those states and commit no transition at
 * all for them (no second "normal -> unacknowledged" for an alarm already unacknowledged).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GATEWAY_DB_FILE } from '../../gateway/store/event-store.js';
import {
  CommittedDb,
  configDocument,
  describeTransitions,
  rtuLine,
  spawnGateway,
  startScenarioSimulation,
  storeProblems,
  tcpEndpoint,
  tempDataDir,
  validConfig,
  waitUntil,
  writeConfigFile,
  type GatewayProcess,
  type ScenarioDevice,
} from '../helpers/gateway-harness.js';

const FLIPPING_GAS = ['gas-1', 'gas-2', 'gas-3'];
const STEADY_GAS = 'gas-steady';
const COVER = 'manhole-14';
/** H2S values (mg/m³) a flipping detector walks through: normal, level 1, level 2, level 1. */
const H2S_WALK = [5, 12, 22, 12];
const KILLS = 3;
/** New transitions a run must have committed before it may be killed. */
const MIN_TRANSITIONS_PER_RUN = 120;

const devices: ScenarioDevice[] = [
  ...[...FLIPPING_GAS, STEADY_GAS].map((id, i): ScenarioDevice => ({
    id,
    bus: 'lan',
    unitId: i + 1,
    profile: 'anqi-gd300',
    gateway: { pollIntervalMs: 50, timeoutMs: 300 },
  })),
  {
    id: COVER,
    bus: 'line',
    unitId: 2,
    profile: 'anjing-mc200',
    gateway: { pollIntervalMs: 100, timeoutMs: 300, alarms: { tilt_high: { onDelayS: 0 } } },
  },
];

/** A digest of the outbox rows up to `seq`: committed events are never rewritten or lost. */
function outboxDigest(db: CommittedDb, upToSeq: number): string {
  const rows = db.all<{ seq: number; id: string; kind: string; body: string }>(
    'SELECT seq, id, kind, body FROM outbox WHERE seq <= ? ORDER BY seq',
    upToSeq,
  );
  assert.equal(rows.length, upToSeq, `outbox rows 1..${upToSeq} are all there`);
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

/** Runs `probe` on a fresh read-only connection; undefined while the database is not there yet. */
function peek<T>(path: string, probe: (db: CommittedDb) => T): T | undefined {
  if (!existsSync(path)) return undefined;
  const db = new CommittedDb(path);
  try {
    return probe(db);
  } catch {
    return undefined; // schema not migrated yet, or busy at the very first look
  } finally {
    db.close();
  }
}

/** Checks the database as the killed process left it (read-write only so SQLite can recover). */
function verified<T>(path: string, then: (db: CommittedDb) => T): T {
  const db = new CommittedDb(path, { readonly: false });
  try {
    assert.deepEqual(storeProblems(db), []);
    return then(db);
  } finally {
    db.close();
  }
}

describe('kill -9 of the gateway process during heavy alarm evaluation', () => {
  const tmp = tempDataDir('kill9');
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('survives three SIGKILLs at random moments and resumes from the persisted alarm states', async (t) => {
    const simulation = await startScenarioSimulation([tcpEndpoint('lan'), rtuLine('line')], devices);
    t.after(() => simulation.sim.stop());
    const dataDir = join(tmp, 'data');
    const dbPath = join(dataDir, GATEWAY_DB_FILE);
    const configPath = writeConfigFile(tmp, validatedDocument());
    function validatedDocument(): Record<string, unknown> {
      const document = configDocument(simulation, dataDir);
      validConfig(document);
      return document;
    }

    // The flipper: every 60 ms each flipping detector takes the next value of its walk (each
    // from its own phase) and the cover flips across 10°.
    simulation.device(STEADY_GAS).hold('h2s', 22);
    let step = 0;
    const flip = (): void => {
      step++;
      FLIPPING_GAS.forEach((id, k) => simulation.device(id).hold('h2s', H2S_WALK[(step + k) % 4] ?? 5));
      simulation.device(COVER).hold('tilt_angle', step % 2 === 0 ? 14 : 5);
    };
    let flipper: NodeJS.Timeout | undefined = setInterval(flip, 60);
    const stopFlipping = (): void => {
      clearInterval(flipper);
      flipper = undefined;
    };
    t.after(stopFlipping);

    let gateway: GatewayProcess | undefined;
    t.after(() => {
      if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null)
        gateway.child.kill('SIGKILL');
    });
    const failIfExited = (): void => {
      if (gateway && (gateway.child.exitCode !== null || gateway.child.signalCode !== null))
        assert.fail(`the gateway exited on its own:\n${gateway.output()}`);
    };

    const kills: Array<{
      delayMs: number;
      seenSeq: number;
      seenHistory: number;
      digest: string;
      lastSeq: number;
    }> = [];
    let history = 0;
    for (let round = 1; round <= KILLS; round++) {
      const from = history;
      gateway = spawnGateway(configPath);
      const running = gateway;
      await waitUntil(
        `run ${round} to commit ${MIN_TRANSITIONS_PER_RUN} transitions`,
        () => {
          failIfExited();
          return (peek(dbPath, (db) => db.lastHistoryId()) ?? 0) >= from + MIN_TRANSITIONS_PER_RUN;
        },
        { timeoutMs: 30_000, intervalMs: 50, detail: () => running.output() },
      );
      const seen = peek(dbPath, (db) => ({
        seq: db.all<{ s: number }>('SELECT MAX(seq) AS s FROM outbox')[0]?.s ?? 0,
        history: db.lastHistoryId(),
      }));
      assert.ok(seen);
      const delayMs = Math.round(Math.random() * 250);
      await sleep(delayMs); // the random moment, in the middle of the flipping
      running.child.kill('SIGKILL');
      const exit = await running.exited;
      assert.equal(exit.signal, 'SIGKILL', `run ${round} was killed, not ended: ${running.output()}`);

      const survived = verified(dbPath, (db) => {
        const lastSeq = db.all<{ s: number }>('SELECT MAX(seq) AS s FROM outbox')[0]?.s ?? 0;
        return { lastSeq, history: db.lastHistoryId(), digest: outboxDigest(db, lastSeq) };
      });
      assert.ok(
        survived.lastSeq >= seen.seq && survived.history >= seen.history,
        `run ${round}: what was seen committed before the kill (seq ${seen.seq}, history ${seen.history}) ` +
          `survived (seq ${survived.lastSeq}, history ${survived.history})`,
      );
      kills.push({ delayMs, seenSeq: seen.seq, seenHistory: seen.history, ...survived });
      history = survived.history;
    }

    // Freeze every flipping value where its persisted alarm says it was.
    stopFlipping();
    const persisted = verified(dbPath, (db) => db.alarms());
    const state = (key: string): { state: string; level: number } => {
      const record = persisted.find((r) => r.alarmKey === key);
      return { state: record?.state ?? 'normal', level: record?.level ?? 0 };
    };
    for (const id of FLIPPING_GAS) {
      const { level } = state(`${id}:h2s_high`);
      simulation.device(id).hold('h2s', [5, 12, 22][level] ?? 5);
    }
    simulation.device(COVER).hold('tilt_angle', state(`${COVER}:tilt_high`).level > 0 ? 14 : 5);
    const watched = [...FLIPPING_GAS, STEADY_GAS].map((id) => `${id}:h2s_high`).concat(`${COVER}:tilt_high`);
    const before = Object.fromEntries(watched.map((key) => [key, state(key)]));
    assert.deepEqual(before[`${STEADY_GAS}:h2s_high`], { state: 'unacknowledged', level: 2 });

    // The final restart: it polls the frozen values many times over, then stops cleanly.
    const pollsBefore = verified(
      dbPath,
      (db) => db.all<{ s: number }>('SELECT MAX(seq) AS s FROM polls')[0]?.s ?? 0,
    );
    gateway = spawnGateway(configPath);
    const final = gateway;
    await waitUntil(
      'the restarted gateway to commit 10 good polls of every device',
      () => {
        failIfExited();
        return peek(dbPath, (db) =>
          devices.every(
            (d) =>
              (db.all<{ n: number }>(
                'SELECT COUNT(*) AS n FROM polls WHERE seq > ? AND device_id = ? AND quality = 0',
                pollsBefore,
                d.id,
              )[0]?.n ?? 0) >= 10,
          ),
        );
      },
      { timeoutMs: 30_000, intervalMs: 50, detail: () => final.output() },
    );
    final.child.kill('SIGTERM');
    const exit = await final.exited;
    assert.equal(exit.code, 0, `clean stop: ${final.output()}`);

    verified(dbPath, (db) => {
      // Nothing committed before any of the kills was lost or rewritten by the runs after it.
      for (const kill of kills) assert.equal(outboxDigest(db, kill.lastSeq), kill.digest);
      const resumed = db.transitions({ afterId: history }).filter((tr) => watched.includes(tr.alarmKey));
      assert.deepEqual(
        resumed,
        [],
        `the restarted gateway re-raised or moved alarms whose condition had not changed ` +
          `(persisted: ${JSON.stringify(before)}):\n${describeTransitions(resumed)}`,
      );
      const steady = db.transitions({ alarmKey: `${STEADY_GAS}:h2s_high` });
      assert.deepEqual(
        steady.map((tr) => [tr.from, tr.to, tr.level]),
        [['normal', 'unacknowledged', 2]],
        'the steadily alarming detector was raised once, in the first run, and never again',
      );
      const records = db.alarms().filter((r) => watched.includes(r.alarmKey));
      assert.deepEqual(
        Object.fromEntries(records.map((r) => [r.alarmKey, { state: r.state, level: r.level }])),
        before,
        'the persisted states are unchanged by the final run',
      );
      const total = db.lastHistoryId();
      assert.ok(total >= KILLS * MIN_TRANSITIONS_PER_RUN, `${total} transitions committed in all`);
      t.diagnostic(
        `kills after ${kills.map((k) => `${k.delayMs} ms`).join(', ')}; ${total} transitions, ` +
          `${kills.at(-1)?.lastSeq ?? 0} outbox events before the final run`,
      );
    });
  });
});
