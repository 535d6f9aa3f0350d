/**
 * The overview page and the other cabinet-wide views (api-types.ts Overview, CabinetFacts,
 * UplinkState, LightingView): what is wrong first (alarms by priority and state), then devices,
 * uplink, lighting and the cabinet's own facts.
 *
 * Clock sanity (CabinetFacts.clock.sane): a wall clock before 2024 is not a real date (a cabinet
 * booted without RTC or NTP, lighting/schedule.ts MIN_PLAUSIBLE_WALL_MS), and a wall clock that
 * moved more than a minute apart from the process clock since the gateway started has jumped
 * (docs/storage.md, "Clocks").
 */
import { performance } from 'node:perf_hooks';
import type { LightingSnapshot } from '../../lighting/snapshot.js';
import { MIN_PLAUSIBLE_WALL_MS } from '../../lighting/schedule.js';
import type {
  AlarmView,
  CabinetFacts,
  LightingRates,
  LightingView,
  Overview,
  UplinkState,
} from '../api-types.js';
import type { CabinetPort } from '../cabinet-port.js';
import { alarmCounts, alarmView, annunciated, byUrgency } from './alarms.js';
import type { CabinetIndex } from './cabinet-index.js';
import { deviceCounters, deviceSummary } from './devices.js';

/** The overview lists this many of the most urgent alarms. */
const OVERVIEW_ALARMS = 50;
/** A wall clock this far apart from the process clock since start has jumped. */
const CLOCK_JUMP_MS = 60_000;

export function alarmViews(port: CabinetPort, index: CabinetIndex): AlarmView[] {
  const now = port.now();
  return port
    .alarmRecords()
    .map((record) => alarmView(index, record, now))
    .sort(byUrgency);
}

export function overview(port: CabinetPort, index: CabinetIndex): Overview {
  const alarms = alarmViews(port, index);
  const counters = deviceCounters(port);
  const lighting = port.lighting();
  return {
    cabinet: cabinetFacts(port),
    devices: [...index.devices.values()].map((device) =>
      deviceSummary(device, port.latest(device.id), counters.get(device.id), alarms),
    ),
    alarms: alarmCounts(alarms),
    // What is wrong now (ISA-18.2: annunciated alarms); shelved, suppressed and out-of-service ones
    // are counted in `alarms` and listed on the alarms page, so a dark device's fifty suppressed
    // alarms do not bury the one that matters.
    activeAlarms: alarms.filter((a) => a.state !== 'normal' && annunciated(a)).slice(0, OVERVIEW_ALARMS),
    uplink: uplinkState(port),
    lighting: lighting === null ? null : lightingRates(lighting),
  };
}

export function cabinetFacts(port: CabinetPort): CabinetFacts {
  const started = port.startedTime();
  const wallMs = Date.now();
  const monoMs = performance.now();
  const jumped =
    started !== null && Math.abs(wallMs - started.wallMs - (monoMs - started.monoMs)) > CLOCK_JUMP_MS;
  const stats = port.storeStats();
  return {
    gatewayId: port.identity.gatewayId,
    siteName: port.identity.siteName,
    version: port.identity.version,
    uptimeS: started === null ? 0 : Math.round((monoMs - started.monoMs) / 1000),
    clock: { wallMs, timeZone: port.identity.timeZone, sane: wallMs >= MIN_PLAUSIBLE_WALL_MS && !jumped },
    disk: port.disk(),
    databaseBytes: stats === null ? 0 : stats.databaseBytes + stats.walBytes,
  };
}

/** Connected, what waits (both lanes) and since when, and the last acknowledgement. */
export function uplinkState(port: CabinetPort): UplinkState {
  const { configured, stats } = port.uplink();
  const outbox = port.storeStats()?.outbox ?? null;
  return {
    configured,
    connected: stats?.connected ?? false,
    backlog: outbox?.count ?? 0,
    oldestUnsentAgeS: outbox?.oldestAgeMs == null ? null : Math.round(outbox.oldestAgeMs / 1000),
    lastAckWallMs: stats?.lastAckWallMs ?? null,
  };
}

export function lightingRates(snapshot: LightingSnapshot): LightingRates {
  return {
    litRate: snapshot.litRate,
    onlineRate: snapshot.onlineRate,
    integrityRate: snapshot.integrityRate,
  };
}

export function lightingView(snapshot: LightingSnapshot): LightingView {
  return {
    rates: lightingRates(snapshot),
    loops: snapshot.loops.map((l) => ({ ...l, lamps: [...l.lamps], faults: [...l.faults] })),
    lamps: snapshot.lamps.map((l) => ({ ...l, faults: [...l.faults] })),
    overrides: snapshot.overrides.map((o) => ({
      target: o.target,
      action: o.action,
      level: o.level,
      untilWallMs: o.untilWallMs,
      by: o.by,
      reason: o.reason,
      origin: o.origin,
    })),
    today: {
      date: snapshot.today.date,
      sunsetWallMs: snapshot.today.sunsetWallMs,
      sunriseWallMs: snapshot.today.sunriseWallMs,
      switchOnWallMs: snapshot.today.switchOnWallMs,
      switchOffWallMs: snapshot.today.switchOffWallMs,
      dayType: snapshot.today.dayType,
    },
    rules: snapshot.rules.map((r) => ({
      id: r.id,
      days: [...r.days],
      from: r.from,
      to: r.to,
      action: r.action,
      level: r.level,
      targets: [...r.targets],
    })),
  };
}
