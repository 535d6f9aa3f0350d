/**
 * `npm run bench -- ingest`: the cabinet's ingest path. Reply PDUs of the four device families
 * (simulated devices running their scenarios, the gas detector through a leak so alarms fire) go
 * through decode (PDU codec + profile point codec), alarm evaluation, telemetry, and persistence
 * (one commitCycle per cycle of polls). In the same run the same decoded rows go straight into
 * the same schema with raw better-sqlite3 batched inserts, one transaction per cycle, same pragmas.
 *
 * Options: --polls 4000 --cycle 40 (polls per commit, ~250 ms of a busy cabinet)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { decodeResponse, encodeRequest, type ModbusRequest } from '../../drivers/modbus/pdu.js';
import { AlarmEngine } from '../../gateway/alarms/engine.js';
import { resolveAlarmRules } from '../../gateway/alarms/rules.js';
import { decodeReadResponse } from '../../gateway/bus/decode.js';
import { planDevice, type ReadRequestPlan } from '../../gateway/bus/read-planner.js';
import type { DevicePollResult, PointReading } from '../../gateway/bus/types.js';
import { rtuWireCost } from '../../gateway/bus/wire-cost.js';
import { EventBus } from '../../gateway/events/event-bus.js';
import { Pipeline } from '../../gateway/pipeline/pipeline.js';
import { loadProfileDirectory } from '../../gateway/profiles/loader.js';
import type { LoadedProfile } from '../../gateway/profiles/types.js';
import { openDatabase } from '../../gateway/store/database.js';
import { createCommitter } from '../../gateway/store/committer.js';
import { openGatewayStore } from '../../gateway/store/event-store.js';
import { applyMigrations } from '../../gateway/store/migrate.js';
import { GATEWAY_MIGRATIONS } from '../../gateway/store/migrations/gateway.js';
import { TelemetryReporter } from '../../gateway/telemetry/reporter.js';
import { ManualClock } from '../../simulators/clock.js';
import { SimulatedDevice } from '../../simulators/simulated-device.js';
import { parseIntegerOptions } from './options.js';

interface Options {
  polls: number;
  cycle: number;
}

function parseOptions(args: string[]): Options {
  return parseIntegerOptions<Options>(
    args,
    { polls: 4000, cycle: 40 },
    { '--polls': 'polls', '--cycle': 'cycle' },
  );
}

const DEVICES: Array<{ id: string; profile: string; scenario: string }> = [
  { id: 'lighting', profile: 'kerbtek-lc3200', scenario: 'normal' },
  { id: 'gas', profile: 'anqi-gd300', scenario: 'gas-leak' },
  { id: 'cover', profile: 'anjing-mc200', scenario: 'vehicle-bump,loop' },
  { id: 'strain', profile: 'qiaoce-vw8', scenario: 'bridge-traffic' },
];

/** One recorded poll: the reply PDUs of every planned request, as they came off the wire. */
interface RecordedPoll {
  deviceId: string;
  monoMs: number;
  replies: Array<{ plan: ReadRequestPlan; request: ModbusRequest; pdu: Buffer }>;
}

/** Records reply PDUs from simulated devices, 100 ms of scenario time apart. */
function record(
  profiles: Map<string, LoadedProfile>,
  polls: number,
): { recorded: RecordedPoll[]; plans: Map<string, ReadRequestPlan[]> } {
  const clock = new ManualClock(0);
  const cost = rtuWireCost({ baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1 }, 2);
  const plans = new Map<string, ReadRequestPlan[]>();
  const sims = DEVICES.map((d, i) => {
    const profile = profiles.get(d.profile);
    if (!profile) throw new Error(`profile ${d.profile} missing`);
    plans.set(d.id, planDevice(profile, cost, { coalesce: true }));
    const sim = new SimulatedDevice({ profile, unitId: i + 1, clock, seed: 7 + i });
    sim.setScenario(d.scenario);
    return { id: d.id, sim };
  });
  const recorded: RecordedPoll[] = [];
  for (let n = 0; n < polls; n++) {
    const { id, sim } = sims[n % sims.length] as (typeof sims)[number];
    // The gas leak's 160 s timeline passes about 2.5 times over a 4000-poll run.
    clock.advance(100);
    const replies = (plans.get(id) ?? []).map((plan) => {
      const request: ModbusRequest = { fc: plan.fc, address: plan.address, quantity: plan.quantity };
      return { plan, request, pdu: sim.serve(encodeRequest(request)).response };
    });
    recorded.push({ deviceId: id, monoMs: clock.now(), replies });
  }
  return { recorded, plans };
}

/** Our decode step: PDU codec, then the profile's point codec. */
function decodePoll(poll: RecordedPoll, t0: number): DevicePollResult {
  const readings: PointReading[] = [];
  for (const reply of poll.replies)
    decodeReadResponse(readings, reply.plan, decodeResponse(reply.request, reply.pdu));
  return {
    busId: 'bench',
    deviceId: poll.deviceId,
    wallTimeMs: 1_790_000_000_000 + poll.monoMs,
    monotonicMs: t0 + poll.monoMs,
    quality: 'good',
    readings,
    errors: [],
  };
}

function runOurs(
  recorded: RecordedPoll[],
  profiles: Map<string, LoadedProfile>,
  cycle: number,
  dir: string,
): { seconds: number; readings: number; transitions: number; events: number } {
  const logger = pino({ level: 'warn' });
  const store = openGatewayStore(dir, { logger });
  const deviceProfiles = new Map(DEVICES.map((d) => [d.id, profiles.get(d.profile) as LoadedProfile]));
  const rules = DEVICES.flatMap((d) => resolveAlarmRules(d.id, deviceProfiles.get(d.id) as LoadedProfile));
  const topology = {
    devices: DEVICES.map((d) => ({
      deviceId: d.id,
      busId: 'bench',
      children: (deviceProfiles.get(d.id) as LoadedProfile).children.map((c) => c.id),
    })),
  };
  const engine = new AlarmEngine(rules, store.loadAlarmRecords(), topology);
  const events = new EventBus(logger);
  let transitions = 0;
  events.on('alarm:changed', () => transitions++);
  const pipeline = new Pipeline({
    store,
    committer: createCommitter(store, events),
    engine,
    telemetry: new TelemetryReporter({ profiles: deviceProfiles }),
    strain: new Map(),
    lighting: null,
    events,
    logger,
  });
  let readings = 0;
  let committed = 0;
  const t0 = performance.now();
  recorded.forEach((poll, i) => {
    const result = decodePoll(poll, t0);
    readings += result.readings.length;
    pipeline.onPoll(result);
    if ((i + 1) % cycle === 0) committed += pipeline.flush()?.count ?? 0;
  });
  committed += pipeline.flush()?.count ?? 0;
  const seconds = (performance.now() - t0) / 1000;
  store.close();
  return { seconds, readings, transitions, events: committed };
}

function runRaw(
  polls: DevicePollResult[],
  cycle: number,
  dir: string,
): { seconds: number; readings: number } {
  const db = openDatabase(join(dir, 'raw.db'), { synchronous: 'FULL' });
  applyMigrations(db, GATEWAY_MIGRATIONS);
  const insertSeries = db.prepare<[string, string]>(
    'INSERT INTO series (device_id, point_key) VALUES (?, ?)',
  );
  const insertPoll = db.prepare<[string, string, number, number, number, number, number]>(
    'INSERT INTO polls (bus_id, device_id, wall_ms, mono_ms, quality, reading_count, error_count) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertReading = db.prepare<[number, number, number, number | null, number]>(
    'INSERT INTO readings (series_id, wall_ms, mono_ms, value, quality) VALUES (?, ?, ?, ?, ?)',
  );
  const seriesIds = new Map<string, number>();
  const seriesOf = (device: string, key: string): number => {
    const name = `${device}\u0000${key}`;
    let id = seriesIds.get(name);
    if (id === undefined) {
      id = Number(insertSeries.run(device, key).lastInsertRowid);
      seriesIds.set(name, id);
    }
    return id;
  };
  const writeBatch = db.transaction((batch: DevicePollResult[]) => {
    for (const p of batch) {
      insertPoll.run(p.busId, p.deviceId, p.wallTimeMs, Math.round(p.monotonicMs), 0, p.readings.length, 0);
      for (const r of p.readings) {
        const value =
          typeof r.value === 'boolean' ? (r.value ? 1 : 0) : Number.isNaN(r.value) ? null : r.value;
        insertReading.run(seriesOf(p.deviceId, r.key), p.wallTimeMs, Math.round(p.monotonicMs), value, 0);
      }
    }
  });
  let readings = 0;
  const t0 = performance.now();
  for (let i = 0; i < polls.length; i += cycle) {
    const batch = polls.slice(i, i + cycle);
    writeBatch(batch);
    for (const p of batch) readings += p.readings.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return { seconds, readings };
}

export async function main(args: string[]): Promise<void> {
  const options = parseOptions(args);
  const { profiles: byId, issues } = loadProfileDirectory();
  if (issues.length > 0) throw new Error(`profiles do not lint: ${issues.length} issues`);
  const profiles = new Map(byId);
  const { recorded } = record(profiles, options.polls);
  const dir = mkdtempSync(join(tmpdir(), 'kerbside-bench-ingest-'));
  try {
    const ours = runOurs(recorded, profiles, options.cycle, join(dir, 'ours'));
    const decoded = recorded.map((poll) => decodePoll(poll, 0));
    const raw = runRaw(decoded, options.cycle, dir);
    const oursRate = ours.readings / ours.seconds;
    const rawRate = raw.readings / raw.seconds;
    console.log(
      `${options.polls} polls of ${DEVICES.length} device families, ${ours.readings} readings, ${options.cycle} polls per commit; ` +
        `ours committed ${ours.events} outbox events incl. ${ours.transitions} alarm transitions in ${ours.seconds.toFixed(2)} s; ` +
        `raw inserts ${raw.readings} readings in ${raw.seconds.toFixed(2)} s`,
    );
    console.log(
      `RESULT ingest readings_per_s=${oursRate.toFixed(0)} raw_per_s=${rawRate.toFixed(0)} ratio=${(oursRate / rawRate).toFixed(3)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
