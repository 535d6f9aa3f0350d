/**
 * Shared builders for the GatewayStore tests: a hand-driven clock, poll results, alarm events and
 * records, and a store opener that closes what it opened after each test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AlarmTransitionEvent, GatewayEventBody } from '../../../cloud-sync/contract/events.js';
import type { AlarmRecord } from '../../../gateway/alarms/types.js';
import type { DevicePollResult } from '../../../gateway/bus/types.js';
import type { SqliteDatabase } from '../../../gateway/store/database.js';
import {
  openGatewayStore,
  type GatewayStore,
  type GatewayStoreOptions,
} from '../../../gateway/store/event-store.js';
import type { StoreClock } from '../../../gateway/store/uptime-clock.js';

export const silentLogger = pino({ level: 'silent' });

/** A clock the test moves by hand. The wall clock can be set anywhere, e.g. a year back. */
export class FakeClock implements StoreClock {
  constructor(
    public mono = 1_000,
    public wall = Date.UTC(2025, 0, 1),
  ) {}
  monotonicMs(): number {
    return this.mono;
  }
  wallMs(): number {
    return this.wall;
  }
  advance(ms: number): void {
    this.mono += ms;
    this.wall += ms;
  }
}

/** A temporary directory removed when the test file ends, with a fresh sub-directory per call. */
export function tempDirs(prefix: string): { fresh: () => string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  let n = 0;
  return {
    fresh: () => join(root, `data-${++n}`),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Opens a store and remembers to close it. */
export class Stores {
  private readonly open: GatewayStore[] = [];

  openStore(dir: string, options: Partial<GatewayStoreOptions> = {}): GatewayStore {
    const store = openGatewayStore(dir, { logger: silentLogger, ...options });
    this.open.push(store);
    return store;
  }

  closeAll(): void {
    for (const store of this.open.splice(0).reverse()) store.close();
  }
}

/** A poll of `deviceId` with points p0, p1 ... at the clock's current time. */
export function poll(
  clock: FakeClock,
  deviceId: string,
  values: ReadonlyArray<number | boolean>,
  overrides: Partial<DevicePollResult> = {},
): DevicePollResult {
  return {
    busId: 'line-1',
    deviceId,
    wallTimeMs: clock.wall,
    monotonicMs: clock.mono,
    quality: 'good',
    readings: values.map((value, i) => ({ key: `p${i}`, value })),
    errors: [],
    ...overrides,
  };
}

export function transition(
  alarmKey: string,
  to: AlarmTransitionEvent['to'] = 'unacknowledged',
): AlarmTransitionEvent {
  const [deviceId = 'dev', ruleKey = 'rule'] = alarmKey.split(':');
  return {
    kind: 'alarm_transition',
    alarmKey,
    deviceId,
    ruleKey,
    condition: 'high',
    from: 'normal',
    to,
    level: 1,
    priority: 'high',
    active: true,
    value: 42.5,
    setpoint: 40,
    cause: 'reading',
    by: null,
    reason: null,
    message: { 'zh-CN': '高', en: 'high' },
  };
}

export function record(alarmKey: string, overrides: Partial<AlarmRecord> = {}): AlarmRecord {
  const [deviceId = 'dev', ruleKey = 'rule'] = alarmKey.split(':');
  return {
    alarmKey,
    deviceId,
    ruleKey,
    state: 'unacknowledged',
    active: true,
    level: 1,
    acknowledged: false,
    shelve: null,
    outOfService: null,
    suppressedBy: null,
    lastValue: 42.5,
    lastChangeMonoMs: 1_000,
    lastChangeWallMs: Date.UTC(2025, 0, 1),
    ...overrides,
  };
}

export function telemetry(deviceId: string, value: number): GatewayEventBody {
  return { kind: 'telemetry', deviceId, values: { p0: value } };
}

export function count(db: SqliteDatabase, table: string, where = ''): number {
  return db.prepare<[], number>(`SELECT COUNT(*) FROM ${table} ${where}`).pluck().get() ?? 0;
}
