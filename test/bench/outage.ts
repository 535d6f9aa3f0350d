/**
 * `npm run bench -- outage`: recovery after a cloud outage (issue 10). A real gateway polls
 * simulated devices on Modbus TCP (a gas detector through a leak, so alarms are raised while the
 * cloud is away, a bridge strain logger with traffic and a manhole cover) and sends its outbox
 * through its uplink to a real cloud service (embedded aedes broker, ingest, SQLite). The cloud
 * is stopped for `--outage-s` seconds with the telemetry quota set small, so telemetry is evicted
 * (each eviction reported by a gap record), then started again on the same port.
 *
 * Measured:
 * - reconnect_s: from the restarted broker listening (its log line) to the uplink connected
 *   again (subscribed), sampled every 5 ms;
 * - drain_s: from that reconnect until both lanes' acknowledged marks reach what the lanes held at
 *   the reconnect (the backlog of the outage acknowledged by the cloud);
 * - the ledger, over every lane seq the gateway assigned (up to a mark acknowledged at the end):
 *   lost = priority-lane seqs missing in the cloud, telemetry seqs missing that the gateway did not
 *   evict, and committed ids missing or stored under another seq; duplicates = cloud rows beyond
 *   one per (lane, seq) or per id; gaps_unexplained = telemetry seqs missing in the cloud and not
 *   covered by a gap record the cloud holds; evicted_while_up = telemetry evicted after the uplink
 *   had reconnected (the gateway's telemetryEvicted counter between reconnect and drained).
 *
 * Reference, in the same run: the reconnect schedule before issue 10 (1 s doubling to 60 s, full
 * jitter) replayed on the same random draws (the uplink's random source is seeded and recorded),
 * the same outage and the measured failed-attempt and connect times; and 500 gateways after the
 * same outage for both schedules, drawn with the same seed (test/gateway/uplink/fleet.ts).
 *
 * Options: --outage-s 60 --quota 200 --evict-rows 20 --poll-ms 200 --seed 20261208
 */
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { GapEvent, Lane } from '../../cloud-sync/contract/events.js';
import type { CloudService } from '../../cloud-sync/service/service.js';
import {
  DEFAULT_RECONNECT_POLICY,
  PREVIOUS_RECONNECT_POLICY,
  reconnectCeilingMs,
  type ReconnectPolicy,
} from '../../gateway/uplink/reconnect.js';
import { describeSpread, fleetReturnDelaysMs, seededRandom, spreadOf } from '../gateway/uplink/fleet.js';
import {
  startScenario,
  tcpEndpoint,
  tempDataDir,
  type ScenarioDevice,
  type ScenarioHarness,
} from '../helpers/gateway-harness.js';
import { startCloud as startSystemCloud } from '../helpers/system-harness.js';
import { parseIntegerOptions } from './options.js';

interface Options {
  outageS: number;
  quota: number;
  evictRows: number;
  pollMs: number;
  seed: number;
}

function parseOptions(args: string[]): Options {
  return parseIntegerOptions<Options>(
    args,
    { outageS: 60, quota: 200, evictRows: 20, pollMs: 200, seed: 20261208 },
    {
      '--outage-s': 'outageS',
      '--quota': 'quota',
      '--evict-rows': 'evictRows',
      '--poll-ms': 'pollMs',
      '--seed': 'seed',
    },
  );
}

/** The gateway id configDocument gives the cabinet. */
const GW = 'gw-scenario';
const SECRET = 'outage-bench-secret-0123456789abcdef0123456789';
const SAMPLE_MS = 5;
/** Give up on a phase after this long: the RESULT line then says what happened. */
const PHASE_TIMEOUT_MS = 180_000;

const seconds = (ms: number): string => (ms / 1000).toFixed(2);

/** Polls `probe` every SAMPLE_MS until it returns true; the time it did, or null on timeout. */
async function until(probe: () => boolean, timeoutMs = PHASE_TIMEOUT_MS): Promise<number | null> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (probe()) return performance.now();
    if (performance.now() > deadline) return null;
    await sleep(SAMPLE_MS);
  }
}

/** The cloud service; `onListening` hears the embedded broker's "listening" log line. */
async function startCloud(dir: string, port: number, onListening: () => void): Promise<CloudService> {
  const watch = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (chunk.toString('utf8').includes('"msg":"embedded mqtt broker listening"')) onListening();
      done();
    },
  });
  return startSystemCloud(dir, {
    gateways: { [GW]: SECRET },
    mqttPort: port,
    logger: pino({ level: 'info' }, watch),
  });
}

/** What the gateway committed, as read at each commit (before any ack could delete it). */
interface Committed {
  /** `${lane}/${laneSeq}` -> event id. */
  ids: Map<string, string>;
  /** Gap records the gateway wrote: the telemetry seqs it evicted. */
  evicted: Array<{ fromSeq: number; toSeq: number }>;
}

function recordCommits(h: ScenarioHarness): Committed {
  const committed: Committed = { ids: new Map(), evicted: [] };
  h.gateway.events.on('store:committed', ({ fromSeq, toSeq }) => {
    // Synchronously after the commit: the uplink cannot have had an ack for these yet.
    const rows = h.db.all<{ id: string; kind: string; lane: Lane; laneSeq: number; body: string }>(
      'SELECT id, kind, lane, lane_seq AS laneSeq, body FROM outbox WHERE seq BETWEEN ? AND ?',
      fromSeq,
      toSeq,
    );
    for (const row of rows) {
      committed.ids.set(`${row.lane}/${row.laneSeq}`, row.id);
      if (row.kind === 'gap') {
        const gap = JSON.parse(row.body) as GapEvent;
        committed.evicted.push({ fromSeq: gap.fromSeq, toSeq: gap.toSeq });
      }
    }
  });
  return committed;
}

interface Ledger {
  lost: number;
  duplicates: number;
  gapsUnexplained: number;
  /** Evicted telemetry the cloud nevertheless holds (sent before it was evicted). */
  evictedButDelivered: number;
  cloudRows: number;
  gaps: number;
}

async function ledger(
  cloud: CloudService,
  upTo: Record<Lane, number>,
  committed: Committed,
  transitionIds: readonly string[],
): Promise<Ledger> {
  const rows = await cloud.db
    .selectFrom('events')
    .select(['lane', 'seq', 'event_id', 'kind', 'body'])
    .where('gateway_id', '=', GW)
    .execute();
  const byPosition = new Map<string, string>();
  const ids = new Set<string>();
  const gaps: GapEvent[] = [];
  for (const row of rows) {
    byPosition.set(`${row.lane}/${Number(row.seq)}`, row.event_id);
    ids.add(row.event_id);
    if (row.kind === 'gap') gaps.push(JSON.parse(row.body) as GapEvent);
  }
  let duplicates = Math.max(rows.length - ids.size, rows.length - byPosition.size);
  const inRange = (ranges: ReadonlyArray<{ fromSeq: number; toSeq: number }>, seq: number): boolean =>
    ranges.some((r) => r.fromSeq <= seq && seq <= r.toSeq);
  const lostPositions = new Set<string>();
  let gapsUnexplained = 0;
  let evictedButDelivered = 0;
  for (let seq = 1; seq <= upTo.priority; seq++)
    if (!byPosition.has(`priority/${seq}`)) lostPositions.add(`priority/${seq}`);
  for (let seq = 1; seq <= upTo.telemetry; seq++) {
    const present = byPosition.has(`telemetry/${seq}`);
    const evicted = inRange(committed.evicted, seq);
    if (!present && !evicted) lostPositions.add(`telemetry/${seq}`);
    if (!present && !inRange(gaps, seq)) gapsUnexplained++;
    if (present && evicted) evictedButDelivered++;
  }
  // Every id the gateway committed (in range) is in the cloud under the same lane seq.
  for (const [position, id] of committed.ids) {
    const [lane, seq] = position.split('/') as [Lane, string];
    if (Number(seq) > upTo[lane]) continue;
    const stored = byPosition.get(position);
    if (stored === undefined) {
      if (!(lane === 'telemetry' && inRange(committed.evicted, Number(seq)))) lostPositions.add(position);
    } else if (stored !== id) duplicates++;
  }
  let lost = lostPositions.size;
  for (const id of transitionIds) if (!ids.has(id)) lost++;
  return {
    lost,
    duplicates,
    gapsUnexplained,
    evictedButDelivered,
    cloudRows: rows.length,
    gaps: gaps.length,
  };
}

/** One random draw of the uplink: when (performance.now()) and what. */
interface Draw {
  atMs: number;
  value: number;
}

/**
 * A gateway on `policy` that lost the broker at `lostAtMs` and draws `values` in turn: when its
 * first attempt at or after `backAtMs` starts (failed attempts take `failMs` each).
 */
function replay(
  policy: ReconnectPolicy,
  values: () => number,
  lostAtMs: number,
  backAtMs: number,
  failMs: number,
): number {
  let t = lostAtMs;
  for (let attempt = 0; ; attempt++) {
    t += values() * reconnectCeilingMs(attempt, policy);
    if (t >= backAtMs) return t;
    t += failMs;
  }
}

export async function main(args: string[]): Promise<void> {
  const options = parseOptions(args);
  const outageMs = options.outageS * 1000;
  const cloudDir = tempDataDir('bench-outage-cloud');
  let listeningAt = Number.NaN;
  let cloud: CloudService | undefined;
  let h: ScenarioHarness | undefined;
  const seeded = seededRandom(options.seed);
  const draws: Draw[] = [];
  try {
    cloud = await startCloud(cloudDir, 0, () => (listeningAt = performance.now()));
    const port = cloud.mqttPort ?? 0;
    const device = (id: string, unitId: number, profile: string, scenario: string): ScenarioDevice => ({
      id,
      bus: 'lan',
      unitId,
      profile,
      scenario,
      seed: unitId,
      gateway: { pollIntervalMs: options.pollMs, timeoutMs: 500 },
    });
    h = await startScenario({
      name: 'bench-outage',
      buses: [tcpEndpoint('lan')],
      devices: [
        device('gas-vault', 1, 'anqi-gd300', 'gas-leak'),
        device('strain-span', 2, 'qiaoce-vw8', 'bridge-traffic'),
        device('cover-kerb', 3, 'anjing-mc200', 'vehicle-bump'),
      ],
      gatewayOptions: {
        uplink: {
          gatewayId: GW,
          url: `mqtt://127.0.0.1:${port}`,
          username: GW,
          password: SECRET,
          version: '0.1.0-bench',
          // The shipped schedule (reconnect.ts defaults), drawn from a seeded, recorded source.
          random: () => {
            const value = seeded();
            draws.push({ atMs: performance.now(), value });
            return value;
          },
        },
        outbox: { outboxQuota: { telemetry: options.quota }, telemetryEvictRows: options.evictRows },
      },
    });
    const running = h;
    const committed = recordCommits(running);
    const snapshot = (): ReturnType<typeof running.gateway.metricsSnapshot> =>
      running.gateway.metricsSnapshot();
    const store = (): NonNullable<ReturnType<typeof running.gateway.metricsSnapshot>['store']> => {
      const s = snapshot().store;
      if (s === null) throw new Error('the gateway store is not open');
      return s;
    };
    console.log(
      `cabinet: gas detector (gas-leak), strain logger (bridge-traffic), manhole cover (vehicle-bump) on Modbus TCP, ` +
        `polled every ${options.pollMs} ms; telemetry quota ${options.quota} unacknowledged events, ` +
        `${options.evictRows} evicted at a time; reconnect schedule ${DEFAULT_RECONNECT_POLICY.initialMs} ms doubling ` +
        `to ${DEFAULT_RECONNECT_POLICY.maxMs} ms, full jitter, seed ${options.seed}`,
    );
    const warm = await until(
      () => snapshot().uplink?.connected === true && store().outbox.count === 0,
      30_000,
    );
    if (warm === null) throw new Error('the uplink did not connect and drain before the outage');

    // The outage.
    const drawsBefore = draws.length;
    const telemetryBefore = store().outbox.lanes.telemetry.lastSeq;
    await cloud.close();
    cloud = undefined;
    const stoppedAt = performance.now();
    await until(() => snapshot().uplink?.connected === false, 30_000);
    console.log(`outage: cloud stopped for ${options.outageS} s`);
    await until(() => performance.now() - stoppedAt >= outageMs, outageMs + 1000);
    const evictedInOutage = store().telemetryEvicted;
    const telemetryInOutage = store().outbox.lanes.telemetry.lastSeq - telemetryBefore;
    const backlog = store().outbox;
    console.log(
      `  during the outage: ${telemetryInOutage} telemetry events committed, ${evictedInOutage} evicted ` +
        `(quota ${options.quota}); backlog ${backlog.count} events (${backlog.byClass.alarm.count} alarm, ` +
        `${backlog.byClass.gap.count} gap, ${backlog.byClass.telemetry.count} telemetry); ` +
        `${draws.length - drawsBefore} reconnect attempts so far`,
    );

    // The return, on the same port.
    cloud = await startCloud(cloudDir, port, () => (listeningAt = performance.now()));
    const connectedAt = await until(() => snapshot().uplink?.connected === true);
    if (connectedAt === null) throw new Error('the uplink did not reconnect');
    const evictedAtReconnect = store().telemetryEvicted;
    const target = { ...store().outbox.lanes };
    const acked = (mark: { priority: { lastSeq: number }; telemetry: { lastSeq: number } }): boolean => {
      const lanes = store().outbox.lanes;
      return (
        lanes.priority.ackedSeq >= mark.priority.lastSeq && lanes.telemetry.ackedSeq >= mark.telemetry.lastSeq
      );
    };
    const drainedAt = await until(() => acked(target));
    const evictedAtDrained = store().telemetryEvicted;
    // Close the ledger at a mark the cloud has acknowledged.
    const final = { ...store().outbox.lanes };
    await until(() => acked(final));
    const uplink = snapshot().uplink;
    const transitionIds = running.db.transitions().map((t) => t.eventId);

    const reconnectMs = connectedAt - listeningAt;
    const drainMs = drainedAt === null ? Number.NaN : drainedAt - connectedAt;
    const evictedWhileUp = evictedAtDrained - evictedAtReconnect;
    const book = await ledger(
      cloud,
      { priority: final.priority.lastSeq, telemetry: final.telemetry.lastSeq },
      committed,
      transitionIds,
    );

    // The outage as the uplink lived it: its waits and attempts, from the recorded draws.
    const outageDraws = draws.slice(drawsBefore);
    const first = outageDraws[0];
    const last = outageDraws.at(-1);
    if (first === undefined || last === undefined) throw new Error('no reconnect attempt was recorded');
    const attemptStart = (i: number): number =>
      (outageDraws[i]?.atMs ?? 0) +
      (outageDraws[i]?.value ?? 0) * reconnectCeilingMs(i, DEFAULT_RECONNECT_POLICY);
    const fails = outageDraws.slice(1).map((d, i) => d.atMs - attemptStart(i));
    const failMs = fails.length === 0 ? 1 : fails.reduce((s, f) => s + f, 0) / fails.length;
    const lastWaitMs = last.value * reconnectCeilingMs(outageDraws.length - 1, DEFAULT_RECONNECT_POLICY);
    const connectMs = connectedAt - attemptStart(outageDraws.length - 1);
    console.log(
      `ours: ${outageDraws.length} waits in the outage (longest ${seconds(
        Math.max(...outageDraws.map((d, i) => d.value * reconnectCeilingMs(i, DEFAULT_RECONNECT_POLICY))),
      )} s, cap ${seconds(DEFAULT_RECONNECT_POLICY.maxMs)} s); failed attempts took ${failMs.toFixed(1)} ms; ` +
        `the last wait ${seconds(lastWaitMs)} s, the connect ${connectMs.toFixed(0)} ms; ` +
        `reconnected ${seconds(reconnectMs)} s after the broker listened, backlog acknowledged ${seconds(drainMs)} s later ` +
        `(${uplink?.goBacks ?? 0} go-backs); evicted: ${evictedInOutage} in the outage, ` +
        `${evictedAtReconnect - evictedInOutage} between the return and the reconnect, ${evictedWhileUp} after it`,
    );
    console.log(
      `ledger: ${book.cloudRows} events in the cloud up to priority seq ${final.priority.lastSeq} and telemetry seq ` +
        `${final.telemetry.lastSeq}, ${book.gaps} gap records, ${book.evictedButDelivered} evicted events delivered anyway, ` +
        `${transitionIds.length} alarm transitions`,
    );

    // Reference: the schedule before issue 10 on the same draws, outage and attempt times.
    const replayed = (policy: ReconnectPolicy): number => {
      const values = seededRandom(options.seed);
      for (let i = 0; i < drawsBefore; i++) values();
      return replay(policy, values, first.atMs, listeningAt, failMs) + connectMs - listeningAt;
    };
    const fleet = (policy: ReconnectPolicy): string =>
      describeSpread(
        spreadOf(
          fleetReturnDelaysMs(500, {
            policy,
            random: seededRandom(options.seed),
            outageMs: listeningAt - first.atMs,
            failedAttemptMs: failMs,
          }),
        ),
      );
    console.log(
      `ours replayed on the same draws: reconnect_s=${seconds(replayed(DEFAULT_RECONNECT_POLICY))} ` +
        `(measured ${seconds(reconnectMs)}); 500 gateways after the same outage: ${fleet(DEFAULT_RECONNECT_POLICY)}`,
    );
    console.log(
      `reference: the old schedule (${PREVIOUS_RECONNECT_POLICY.initialMs} ms doubling to ` +
        `${PREVIOUS_RECONNECT_POLICY.maxMs} ms, full jitter) on the same draws: reconnect_s=${seconds(
          replayed(PREVIOUS_RECONNECT_POLICY),
        )}; 500 gateways after the same outage: ${fleet(PREVIOUS_RECONNECT_POLICY)}`,
    );
    console.log(
      `RESULT outage reconnect_s=${seconds(reconnectMs)} drain_s=${seconds(drainMs)} lost=${book.lost} ` +
        `duplicates=${book.duplicates} gaps_unexplained=${book.gapsUnexplained} evicted_while_up=${evictedWhileUp}`,
    );
  } finally {
    await h?.stop();
    await cloud?.close();
    rmSync(cloudDir, { recursive: true, force: true });
  }
}
