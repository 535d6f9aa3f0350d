/**
 * The outbox quotas from the configuration file (issue 10 part 6): the real gateway program
 * (`node --import tsx gateway/main.ts --config gateway.json`) polling a simulated gas detector,
 * with `storage.outbox` shrinking the telemetry quota, and no uplink (nothing is ever
 * acknowledged). Telemetry is evicted at the configured quota, in steps of the configured
 * telemetryEvictRows, and every evicted event is accounted for by exactly one gap record.
 *
 * Each step waits on what the gateway committed (a condition with a deadline), never on a sleep.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { GapEvent } from '../../cloud-sync/contract/events.js';
import { GATEWAY_DB_FILE } from '../../gateway/store/event-store.js';
import { ManualClock } from '../../simulators/index.js';
import {
  CommittedDb,
  configDocument,
  spawnGateway,
  startScenarioSimulation,
  tcpEndpoint,
  tempDataDir,
  waitUntil,
  writeConfigFile,
  type GatewayProcess,
} from '../helpers/gateway-harness.js';

const QUOTA = 10;
const EVICT_ROWS = 4;
/** Telemetry events the test makes the gateway commit: several evictions' worth. */
const EVENTS = 4 * QUOTA;

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface TelemetryState {
  /** Highest telemetry-lane seq assigned. */
  lastSeq: number;
  /** Lane seqs of the telemetry events still in the outbox. */
  present: number[];
  gaps: GapEvent[];
}

function telemetryState(db: CommittedDb): TelemetryState {
  return db.snapshot((conn) => {
    const lastSeq = conn
      .prepare<[], number>("SELECT last_seq FROM outbox_lanes WHERE lane = 'telemetry'")
      .pluck()
      .get();
    const present = conn
      .prepare<[], number>("SELECT lane_seq FROM outbox WHERE class = 'telemetry' ORDER BY lane_seq")
      .pluck()
      .all();
    const gaps = conn
      .prepare<[], string>("SELECT body FROM outbox WHERE kind = 'gap' ORDER BY seq")
      .pluck()
      .all()
      .map((body) => JSON.parse(body) as GapEvent);
    return { lastSeq: lastSeq ?? 0, present, gaps };
  });
}

describe('storage.outbox in the configuration file (real gateway process)', () => {
  it('evicts telemetry at the configured quota, in configured steps, each eviction with its gap record', async () => {
    // The simulator's clock stands still: the detector's values move only when the test moves them.
    const simulation = await startScenarioSimulation(
      [tcpEndpoint('lan')],
      [
        {
          id: 'gas',
          bus: 'lan',
          unitId: 1,
          profile: 'anqi-gd300',
          gateway: { pollIntervalMs: 100, timeoutMs: 500 },
        },
      ],
      new ManualClock(),
    );
    cleanups.push(() => simulation.sim.stop());
    const dataDir = tempDataDir('outbox-config');
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const configPath = writeConfigFile(
      dataDir,
      configDocument(simulation, dataDir, {
        // Tests run side by side: no fixed metrics port. The uplink stays off: nothing is acknowledged.
        metrics: { enabled: false },
        storage: { outbox: { quotas: { telemetry: QUOTA }, telemetryEvictRows: EVICT_ROWS } },
      }),
    );
    const gateway: GatewayProcess = spawnGateway(configPath);
    cleanups.push(async () => {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) {
        gateway.child.kill('SIGKILL');
        await gateway.exited;
      }
    });
    const db = new CommittedDb(join(dataDir, GATEWAY_DB_FILE));
    cleanups.push(() => db.close());

    /** The telemetry state, or undefined while the database is not there yet; throws if the gateway died. */
    const probe = (): TelemetryState | undefined => {
      if (gateway.child.exitCode !== null || gateway.child.signalCode !== null)
        throw new Error(`the gateway exited (${gateway.child.exitCode}):\n${gateway.output()}`);
      try {
        return telemetryState(db);
      } catch {
        db.close(); // not created or not migrated yet: look again on a fresh connection
        return undefined;
      }
    };
    const detail = (): string => `telemetry: ${JSON.stringify(probe())}\n${gateway.output()}`;
    let state = await waitUntil(
      'the first telemetry event',
      () => {
        const s = probe();
        return s !== undefined && s.lastSeq > 0 && s;
      },
      { timeoutMs: 30_000, detail },
    );

    // One telemetry event per step: H2S rises by 0.2 mg/m³ (beyond its deadband of 1 % of the
    // value, never back to a value already reported, and below the 10 mg/m³ alarm up to step
    // 40), and the next step waits until the gateway committed the event.
    const device = simulation.device('gas');
    for (let step = 1; state.lastSeq < EVENTS; step++) {
      const before = state.lastSeq;
      device.hold('h2s', 1 + 0.2 * step);
      state = await waitUntil(
        `telemetry event ${before + 1}`,
        () => {
          const s = probe();
          return s !== undefined && s.lastSeq > before && s;
        },
        { detail },
      );
      // The quota holds after every commit; once it was first exceeded, every eviction left at
      // least QUOTA - EVICT_ROWS + 1 (it fires only above the quota and takes EVICT_ROWS).
      assert.ok(state.present.length <= QUOTA, `at most ${QUOTA} telemetry events held: ${detail()}`);
      if (state.gaps.length > 0)
        assert.ok(state.present.length > QUOTA - EVICT_ROWS, `evicted only above the quota: ${detail()}`);
    }

    // Evictions happened, each of the configured step, named by the configured quota.
    const { lastSeq, present, gaps } = state;
    assert.ok(gaps.length >= 2, `several evictions (${gaps.length}): ${detail()}`);
    for (const gap of gaps) {
      assert.ok(gap.count >= EVICT_ROWS, `a gap of ${gap.count} events: at least telemetryEvictRows`);
      assert.equal(gap.count, gap.toSeq - gap.fromSeq + 1, 'a telemetry-lane range is contiguous');
      assert.match(gap.reason, new RegExp(`telemetry quota of ${QUOTA} unacknowledged events full`));
    }
    // Oldest first: what is held is the newest events, and everything older is in exactly one gap.
    const oldestHeld = present[0] ?? lastSeq + 1;
    assert.deepEqual(
      present,
      Array.from({ length: lastSeq - oldestHeld + 1 }, (_, i) => oldestHeld + i),
      'the newest telemetry events are held, without holes',
    );
    for (let seq = 1; seq < oldestHeld; seq++) {
      const covering = gaps.filter((g) => g.fromSeq <= seq && seq <= g.toSeq);
      assert.equal(covering.length, 1, `evicted telemetry seq ${seq} is in exactly one gap record`);
    }
    assert.equal(
      gaps.reduce((sum, g) => sum + g.count, 0),
      oldestHeld - 1,
      'the gap records count exactly the evicted events',
    );

    gateway.child.kill('SIGTERM');
    const exit = await gateway.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, gateway.output());
  });
});
