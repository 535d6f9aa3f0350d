/**
 * The end-to-end invariant of the uplink (docs/uplink-contract.md): every event a gateway committed
 * is in the cloud exactly once, or (telemetry only) accounted for by a gap event the cloud holds;
 * the cloud holds nothing the gateway did not commit.
 *
 * Inputs:
 * - the ledger: what gateway processes reported committed (one entry per event, printed on stdout
 *   after commitCycle returned, so only what was really committed is in it);
 * - the gateway databases (`<dataDir>/kerbside.db`): epoch, lane counters, the outbox still held,
 *   and alarm_history, which keeps every alarm transition's event id forever. A process killed
 *   between its commit and its report leaves committed events the ledger lacks; the database
 *   proves those (outbox row or history row), or at least that their lane seq was assigned;
 * - the cloud's `events` (and `gateway_streams`) table.
 *
 * `checkInvariants` is pure (unit-tested on hand-made inputs); the loaders read real databases.
 */
import Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Lane } from '../../cloud-sync/contract/events.js';
import { openCloudDatabase } from '../../cloud-sync/service/db/open.js';
import type { CloudSchema } from '../../cloud-sync/service/db/schema.js';

/** One event a gateway reported committed. */
export interface LedgerEntry {
  gatewayId: string;
  epoch: string;
  lane: Lane;
  /** Lane seq (what the cloud sees as `seq`). */
  seq: number;
  id: string;
  kind: string;
}

/** One row of the cloud's `events` table. */
export interface CloudEventRow {
  gatewayId: string;
  epoch: string;
  lane: string;
  seq: number;
  id: string;
  kind: string;
  /** JSON of the body (gap events carry fromSeq/toSeq). */
  body: string;
}

/** One row of the cloud's `gateway_streams` table. */
export interface CloudStreamRow {
  gatewayId: string;
  epoch: string;
  lane: string;
  lastCommitted: number;
}

/** What a gateway database proves about what it committed. */
export interface GatewayEvidence {
  gatewayId: string;
  epoch: string;
  lanes: Record<Lane, { lastSeq: number; ackedSeq: number }>;
  /** Rows still in the outbox (unacknowledged, not evicted). */
  outbox: Array<{ id: string; lane: Lane; seq: number; kind: string }>;
  /** Event ids of every alarm transition ever committed (alarm_history outlives the outbox). */
  alarmHistoryIds: string[];
}

export interface Issue {
  gatewayId: string;
  epoch: string;
  lane: string;
  seq: number | null;
  id: string;
  reason: string;
}

export interface InvariantReport {
  /** Committed, not in the cloud, not covered by a cloud gap event, not waiting in the outbox. */
  lost: Issue[];
  /**
   * An id stored twice, a (gateway, epoch, lane, seq) with two ids, an id under another key than
   * the gateway gave it, or a cloud event the gateway never committed.
   */
  duplicates: Issue[];
  /** Committed and still waiting in the gateway outbox (not lost yet: not drained). */
  pending: Issue[];
  /** The cloud acknowledged (gateway ackedSeq) more than it holds as committed, or holds more than assigned. */
  streamViolations: string[];
  counts: {
    ledger: number;
    cloudEvents: number;
    /** Committed events found in the cloud. */
    delivered: number;
    /** Telemetry events missing in the cloud but covered by a cloud gap event. */
    evictedWithGap: number;
    /** Cloud events not in the ledger that the gateway database proves committed. */
    unreported: number;
    /** Alarm transitions committed (ledger and alarm_history) and how many of them the cloud holds once. */
    alarmTransitions: number;
    alarmTransitionsInCloudOnce: number;
    gapEventsInCloud: number;
  };
}

export interface CheckInput {
  ledger: readonly LedgerEntry[];
  gateways: readonly GatewayEvidence[];
  cloud: readonly CloudEventRow[];
  streams?: readonly CloudStreamRow[];
}

const key = (gatewayId: string, epoch: string, lane: string, seq: number): string =>
  `${gatewayId}|${epoch}|${lane}|${seq}`;
const streamKey = (gatewayId: string, epoch: string, lane: string): string => `${gatewayId}|${epoch}|${lane}`;

interface GapRange {
  fromSeq: number;
  toSeq: number;
}

function gapRange(body: string): GapRange | null {
  try {
    const value = JSON.parse(body) as { fromSeq?: unknown; toSeq?: unknown };
    return typeof value.fromSeq === 'number' && typeof value.toSeq === 'number'
      ? { fromSeq: value.fromSeq, toSeq: value.toSeq }
      : null;
  } catch {
    return null;
  }
}

function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const list = map.get(k);
  if (list === undefined) map.set(k, [v]);
  else list.push(v);
}

export function checkInvariants(input: CheckInput): InvariantReport {
  const lost: Issue[] = [];
  const duplicates: Issue[] = [];
  const pending: Issue[] = [];
  const streamViolations: string[] = [];

  // The cloud, by id and by key.
  const cloudById = new Map<string, CloudEventRow[]>();
  const cloudByKey = new Map<string, CloudEventRow[]>();
  /** Gap ranges per (gateway, epoch): they name telemetry-lane seqs, whatever lane they ride. */
  const gaps = new Map<string, GapRange[]>();
  for (const row of input.cloud) {
    push(cloudById, row.id, row);
    push(cloudByKey, key(row.gatewayId, row.epoch, row.lane, row.seq), row);
    if (row.kind === 'gap') {
      const range = gapRange(row.body);
      if (range !== null) push(gaps, `${row.gatewayId}|${row.epoch}`, range);
    }
  }
  for (const [id, rows] of cloudById) {
    if (rows.length > 1) {
      const r = rows[0] as CloudEventRow;
      duplicates.push({ ...issueOf(r), id, reason: `event id stored ${rows.length} times in the cloud` });
    }
  }
  for (const rows of cloudByKey.values()) {
    const ids = new Set(rows.map((r) => r.id));
    if (ids.size > 1) {
      const r = rows[0] as CloudEventRow;
      duplicates.push({ ...issueOf(r), reason: `cloud holds ${ids.size} different ids at one seq` });
    }
  }

  // The ledger, by id and by key; the gateway itself must never reuse a seq or an id.
  const ledgerById = new Map<string, LedgerEntry>();
  const ledgerByKey = new Map<string, LedgerEntry>();
  for (const entry of input.ledger) {
    const k = key(entry.gatewayId, entry.epoch, entry.lane, entry.seq);
    const sameKey = ledgerByKey.get(k);
    if (sameKey !== undefined && sameKey.id !== entry.id) {
      duplicates.push({ ...entry, reason: `the gateway reported seq ${entry.seq} twice (ids differ)` });
    }
    const sameId = ledgerById.get(entry.id);
    if (sameId !== undefined && key(sameId.gatewayId, sameId.epoch, sameId.lane, sameId.seq) !== k) {
      duplicates.push({ ...entry, reason: 'the gateway reported one id under two seqs' });
    }
    ledgerById.set(entry.id, entry);
    ledgerByKey.set(k, entry);
  }

  // What the gateway databases prove.
  const evidence = new Map<string, GatewayEvidence>();
  const outboxById = new Map<string, { gw: GatewayEvidence; row: GatewayEvidence['outbox'][number] }>();
  const historyIds = new Map<string, GatewayEvidence>();
  for (const gw of input.gateways) {
    evidence.set(`${gw.gatewayId}|${gw.epoch}`, gw);
    for (const row of gw.outbox) outboxById.set(row.id, { gw, row });
    for (const id of gw.alarmHistoryIds) historyIds.set(id, gw);
  }

  // Every cloud event must be one the gateway committed, under the key it gave it.
  let unreported = 0;
  for (const row of input.cloud) {
    const reported = ledgerById.get(row.id);
    if (reported !== undefined) {
      const expected = key(reported.gatewayId, reported.epoch, reported.lane, reported.seq);
      if (expected !== key(row.gatewayId, row.epoch, row.lane, row.seq)) {
        duplicates.push({ ...issueOf(row), reason: `stored under another seq than the gateway gave it` });
      }
      continue;
    }
    const atKey = ledgerByKey.get(key(row.gatewayId, row.epoch, row.lane, row.seq));
    if (atKey !== undefined) {
      duplicates.push({ ...issueOf(row), reason: `the gateway committed ${atKey.id} at this seq` });
      continue;
    }
    const inOutbox = outboxById.get(row.id);
    if (inOutbox !== undefined) {
      if (inOutbox.row.lane !== row.lane || inOutbox.row.seq !== row.seq) {
        duplicates.push({ ...issueOf(row), reason: 'stored under another seq than the gateway outbox has' });
      } else unreported++;
      continue;
    }
    if (historyIds.has(row.id)) {
      unreported++;
      continue;
    }
    const gw = evidence.get(`${row.gatewayId}|${row.epoch}`);
    const lane = gw?.lanes[row.lane as Lane];
    if (lane !== undefined && row.seq >= 1 && row.seq <= lane.lastSeq) {
      // Its seq was assigned by that database (seqs are never reused) and nobody else claims it:
      // committed by a process killed before it could report. Bounded by the caller (counts.unreported).
      unreported++;
      continue;
    }
    duplicates.push({ ...issueOf(row), reason: 'in the cloud, but the gateway never committed it' });
  }

  // Every committed event must be in the cloud, covered by a gap, or still waiting.
  let delivered = 0;
  let evictedWithGap = 0;
  const committed = new Map<string, { entry: Omit<LedgerEntry, 'seq'> & { seq: number | null } }>();
  for (const entry of input.ledger) committed.set(entry.id, { entry });
  for (const { gw, row } of outboxById.values()) {
    if (!committed.has(row.id))
      committed.set(row.id, { entry: { ...row, gatewayId: gw.gatewayId, epoch: gw.epoch } });
  }
  for (const [id, gw] of historyIds) {
    if (!committed.has(id)) {
      committed.set(id, {
        entry: {
          id,
          gatewayId: gw.gatewayId,
          epoch: gw.epoch,
          lane: 'priority',
          seq: null,
          kind: 'alarm_transition',
        },
      });
    }
  }
  let alarmTransitions = 0;
  let alarmTransitionsInCloudOnce = 0;
  for (const { entry } of committed.values()) {
    const inCloud = cloudById.get(entry.id)?.length ?? 0;
    if (entry.kind === 'alarm_transition') {
      alarmTransitions++;
      if (inCloud === 1) alarmTransitionsInCloudOnce++;
    }
    if (inCloud > 0) {
      delivered++;
      continue;
    }
    const issue: Issue = { ...entry, reason: '' };
    if (outboxById.has(entry.id)) {
      pending.push({ ...issue, reason: 'still in the gateway outbox' });
      continue;
    }
    const seq = entry.seq;
    if (entry.lane === 'telemetry' && seq !== null) {
      const ranges = gaps.get(`${entry.gatewayId}|${entry.epoch}`) ?? [];
      if (ranges.some((g) => g.fromSeq <= seq && seq <= g.toSeq)) {
        evictedWithGap++;
        continue;
      }
    }
    lost.push({ ...issue, reason: 'committed, not in the cloud, no gap event covers it' });
  }

  // Acks never claim more than is committed; the cloud never holds more than was assigned.
  if (input.streams !== undefined) {
    const streams = new Map(input.streams.map((s) => [streamKey(s.gatewayId, s.epoch, s.lane), s]));
    for (const gw of input.gateways) {
      for (const lane of ['priority', 'telemetry'] as const) {
        const state = gw.lanes[lane];
        const cloudMark = streams.get(streamKey(gw.gatewayId, gw.epoch, lane))?.lastCommitted ?? 0;
        if (state.ackedSeq > cloudMark) {
          streamViolations.push(
            `${gw.gatewayId} ${lane}: gateway acked ${state.ackedSeq} but the cloud committed only ${cloudMark}`,
          );
        }
        if (cloudMark > state.lastSeq) {
          streamViolations.push(
            `${gw.gatewayId} ${lane}: the cloud committed up to ${cloudMark}, above the last seq assigned ${state.lastSeq}`,
          );
        }
      }
    }
  }

  return {
    lost,
    duplicates,
    pending,
    streamViolations,
    counts: {
      ledger: input.ledger.length,
      cloudEvents: input.cloud.length,
      delivered,
      evictedWithGap,
      unreported,
      alarmTransitions,
      alarmTransitionsInCloudOnce,
      gapEventsInCloud: input.cloud.filter((r) => r.kind === 'gap').length,
    },
  };
}

function issueOf(row: CloudEventRow): Issue {
  return { gatewayId: row.gatewayId, epoch: row.epoch, lane: row.lane, seq: row.seq, id: row.id, reason: '' };
}

/** A one-line summary plus the first few issues of each kind, for test messages and the soak log. */
export function describeReport(report: InvariantReport, show = 5): string {
  const lines = [
    `lost=${report.lost.length} duplicates=${report.duplicates.length} pending=${report.pending.length} ` +
      `streamViolations=${report.streamViolations.length} ${JSON.stringify(report.counts)}`,
  ];
  for (const [name, issues] of [
    ['lost', report.lost],
    ['duplicate', report.duplicates],
    ['pending', report.pending],
  ] as const) {
    for (const issue of issues.slice(0, show)) lines.push(`  ${name}: ${JSON.stringify(issue)}`);
  }
  for (const violation of report.streamViolations.slice(0, show)) lines.push(`  stream: ${violation}`);
  return lines.join('\n');
}

/** Reads what `<dataDir>/kerbside.db` proves (read-only; works while the gateway runs, WAL). */
export function readGatewayEvidence(gatewayId: string, dataDir: string): GatewayEvidence {
  const db = new Database(`${dataDir}/kerbside.db`, { readonly: true, fileMustExist: true });
  try {
    return db
      .transaction((): GatewayEvidence => {
        const epoch = db
          .prepare<[], string>("SELECT value FROM store_meta WHERE key = 'epoch'")
          .pluck()
          .get();
        if (epoch === undefined) throw new Error(`${dataDir}/kerbside.db has no epoch`);
        const lanes = { priority: { lastSeq: 0, ackedSeq: 0 }, telemetry: { lastSeq: 0, ackedSeq: 0 } };
        const laneRows = db.prepare('SELECT lane, last_seq, acked_seq FROM outbox_lanes').all() as Array<{
          lane: Lane;
          last_seq: number;
          acked_seq: number;
        }>;
        for (const r of laneRows) lanes[r.lane] = { lastSeq: r.last_seq, ackedSeq: r.acked_seq };
        const outbox = (
          db.prepare('SELECT id, lane, lane_seq, kind FROM outbox').all() as Array<{
            id: string;
            lane: Lane;
            lane_seq: number;
            kind: string;
          }>
        ).map((r) => ({ id: r.id, lane: r.lane, seq: r.lane_seq, kind: r.kind }));
        const alarmHistoryIds = db.prepare<[], string>('SELECT event_id FROM alarm_history').pluck().all();
        return { gatewayId, epoch, lanes, outbox, alarmHistoryIds };
      })
      .deferred();
  } finally {
    db.close();
  }
}

/** Both lanes of the gateway database fully acknowledged and nothing left in its outbox. */
export function gatewayDrained(dataDir: string): boolean {
  const db = new Database(`${dataDir}/kerbside.db`, { readonly: true, fileMustExist: true });
  try {
    const open = db
      .prepare<[], number>('SELECT COUNT(*) FROM outbox_lanes WHERE acked_seq < last_seq')
      .pluck()
      .get();
    const rows = db.prepare<[], number>('SELECT COUNT(*) FROM outbox').pluck().get();
    return open === 0 && rows === 0;
  } finally {
    db.close();
  }
}

export async function readCloudEvents(
  db: Kysely<CloudSchema>,
): Promise<{ events: CloudEventRow[]; streams: CloudStreamRow[] }> {
  const events = await db
    .selectFrom('events')
    .select(['gateway_id', 'epoch', 'lane', 'seq', 'event_id', 'kind', 'body'])
    .execute();
  const streams = await db
    .selectFrom('gateway_streams')
    .select(['gateway_id', 'epoch', 'lane', 'last_committed'])
    .execute();
  return {
    events: events.map((r) => ({
      gatewayId: r.gateway_id,
      epoch: r.epoch,
      lane: r.lane,
      seq: Number(r.seq),
      id: r.event_id,
      kind: r.kind,
      body: r.body,
    })),
    streams: streams.map((s) => ({
      gatewayId: s.gateway_id,
      epoch: s.epoch,
      lane: s.lane,
      lastCommitted: Number(s.last_committed),
    })),
  };
}

/**
 * Runs the whole check: gateway databases from `gateways` (id -> data dir), the cloud from a
 * Kysely handle or from a SQLite path / PostgreSQL URL (opened and closed here).
 */
export async function checkDeployment(options: {
  ledger: readonly LedgerEntry[];
  gateways: Record<string, string>;
  cloud: Kysely<CloudSchema> | { sqlitePath: string } | { databaseUrl: string };
}): Promise<InvariantReport> {
  const gateways = Object.entries(options.gateways).map(([id, dir]) => readGatewayEvidence(id, dir));
  const owned = !('selectFrom' in options.cloud);
  const db = 'selectFrom' in options.cloud ? options.cloud : await openCloudDatabase(options.cloud);
  try {
    const { events, streams } = await readCloudEvents(db);
    return checkInvariants({ ledger: options.ledger, gateways, cloud: events, streams });
  } finally {
    if (owned) await db.destroy();
  }
}

/**
 * Parses a ledger line printed by gateway-child.ts:
 * `E <gatewayId> <epoch> <lane> <seq> <id> <kind>`. Anything else returns null.
 */
export function parseLedgerLine(line: string): LedgerEntry | null {
  const parts = line.trim().split(' ');
  if (parts.length !== 7 || parts[0] !== 'E') return null;
  const [, gatewayId, epoch, lane, seq, id, kind] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (lane !== 'priority' && lane !== 'telemetry') return null;
  const n = Number(seq);
  if (!Number.isSafeInteger(n)) return null;
  return { gatewayId, epoch, lane, seq: n, id, kind };
}

export function formatLedgerLine(entry: LedgerEntry): string {
  return `E ${entry.gatewayId} ${entry.epoch} ${entry.lane} ${entry.seq} ${entry.id} ${entry.kind}`;
}
