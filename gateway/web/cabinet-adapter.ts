/**
 * The CabinetPort (cabinet-port.ts) of a real, running Gateway: cabinetPortOf(gateway, options).
 *
 * What the gateway does not keep in memory for people, the port keeps from the gateway's event
 * bus while it exists: the latest value of every point (`poll:result`, announced after the commit
 * that stored it) and the recent strain statistics and events. Each listener does O(readings) work
 * with no I/O: it runs on the pipeline's commit path and must not delay polling or alarms
 * (issue 13, part 2).
 *
 * Every action is audited with the web client's address: alarm operations through the pipeline's
 * own audit record (OperationContext), lighting commands by lighting/local-command.ts, and here the
 * configuration overrides and bus reads.
 */
import { statfsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { StrainStatisticsEvent } from '../../cloud-sync/contract/events.js';
import { DEFAULT_ENGINE_OPTIONS } from '../alarms/engine.js';
import { BusError } from '../bus/scheduler.js';
import type { BusReadRequest, DevicePollResult } from '../bus/types.js';
import type { Gateway } from '../gateway.js';
import { GATEWAY_VERSION } from '../version.js';
import type {
  CabinetDevice,
  CabinetPort,
  LatestPoll,
  LatestValue,
  StrainEventRecord,
} from './cabinet-port.js';
import type { WebActor } from './ports.js';

export interface CabinetPortOptions {
  logger: Logger;
  /** The cabinet's IANA time zone. Default: the lighting section's, else the system's. */
  timeZone?: string;
  /** Default: package.json's version (gateway/version.ts). */
  version?: string;
}

/** Strain minutes kept per logger: the last hour. */
const STRAIN_MINUTES = 60;
/** Strain events kept per logger. */
const STRAIN_EVENTS = 50;

interface MutableLatest {
  values: Map<string, LatestValue>;
  quality: LatestPoll['quality'];
  wallMs: number;
  monoMs: number;
}

export function cabinetPortOf(gateway: Gateway, options: CabinetPortOptions): CabinetPort {
  const config = gateway.effectiveConfig();
  const identity = {
    gatewayId: config.gatewayId,
    siteName: config.site.name,
    version: options.version ?? GATEWAY_VERSION,
    timeZone:
      options.timeZone ?? config.lighting?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
  };
  const latest = new Map<string, MutableLatest>();
  const strainMinutes = new Map<string, StrainStatisticsEvent[]>();
  const strainEvents = new Map<string, StrainEventRecord[]>();
  let strainSeq = 0;
  const store = gateway.webStore();

  const onPoll = (poll: DevicePollResult): void => {
    let entry = latest.get(poll.deviceId);
    if (entry === undefined) {
      entry = { values: new Map(), quality: poll.quality, wallMs: poll.wallTimeMs, monoMs: poll.monotonicMs };
      latest.set(poll.deviceId, entry);
    }
    entry.quality = poll.quality;
    entry.wallMs = poll.wallTimeMs;
    entry.monoMs = poll.monotonicMs;
    if (poll.quality === 'failed') return;
    for (const reading of poll.readings)
      entry.values.set(reading.key, {
        value: reading.value,
        wallMs: poll.wallTimeMs,
        monoMs: poll.monotonicMs,
        quality: poll.quality,
      });
  };
  const keepEvent = (event: StrainEventRecord): void => {
    const list = strainEvents.get(event.deviceId) ?? [];
    list.unshift(event);
    list.length = Math.min(list.length, STRAIN_EVENTS);
    strainEvents.set(event.deviceId, list);
  };
  const unsubscribe = [
    gateway.events.on('poll:result', onPoll),
    gateway.events.on('strain:statistics', (event) => {
      const list = strainMinutes.get(event.deviceId) ?? [];
      list.push(event);
      if (list.length > STRAIN_MINUTES) list.splice(0, list.length - STRAIN_MINUTES);
      strainMinutes.set(event.deviceId, list);
    }),
    gateway.events.on('strain:vehicle', (event) =>
      keepEvent({ ...event, id: `vehicle-${++strainSeq}`, wallMs: Date.now() }),
    ),
    gateway.events.on('strain:overweight', (event) =>
      keepEvent({ ...event, id: event.windowId, wallMs: Date.now() }),
    ),
  ];

  /** Records an action of a web user that has no audit record of its own. Never throws. */
  const audit = (actor: WebActor, action: string, target: string, detail: Record<string, unknown>): void => {
    try {
      // The client's address last: no detail of the action may stand in for it.
      gateway.audit({ actor: actor.username, action, target, detail: { ...detail, address: actor.address } });
    } catch (error) {
      options.logger.error({ err: error, action, target }, 'an audit record could not be stored');
    }
  };

  return {
    identity,
    store: { read: (fn) => store.read(fn), now: () => store.now() },
    running: () => gateway.startedTime() !== null,
    startedTime: () => gateway.startedTime(),
    disk: () => diskOf(config.dataDir, options.logger),
    storeStats: () => gateway.storeStats(),

    devices(): CabinetDevice[] {
      return gateway.devices().map(({ config: device, profile }) => ({
        id: device.id,
        busId: device.bus,
        config: device,
        profile,
      }));
    },
    latest: (deviceId) => latest.get(deviceId) ?? null,

    alarmRecords: () => gateway.alarms(),
    alarmRules: () => gateway.alarmRules(),
    maxShelveMs: DEFAULT_ENGINE_OPTIONS.maxShelveMs,
    operateAlarm(operation, alarmKey, actor, reason, shelve) {
      gateway.operateAlarm(operation, alarmKey, { by: actor.username, reason }, shelve, {
        address: actor.address,
      });
    },

    localOverrides: () => gateway.localOverrides(),
    configDocuments: () => gateway.configDocuments(),
    setLocalOverride(pointer, value, actor, reason) {
      gateway.setLocalOverride(pointer, value, actor.username, reason);
      audit(actor, 'config.override_set', pointer, { value, reason });
    },
    clearLocalOverride(pointer, actor, reason) {
      gateway.clearLocalOverride(pointer, actor.username, reason);
      audit(actor, 'config.override_clear', pointer, { reason });
    },

    buses: () => gateway.busStates(),
    async readBus(deviceId: string, request: BusReadRequest, actor: WebActor) {
      // `address` is the client's in every audit record: a raw range says `start`.
      const detail =
        'point' in request
          ? { point: request.point }
          : { table: request.table, start: request.address, count: request.count };
      try {
        const result = await gateway.readBus(deviceId, request);
        audit(actor, 'bus.read', deviceId, {
          ...detail,
          result: 'succeeded',
          roundTripMs: result.roundTripMs,
        });
        return result;
      } catch (error) {
        const code = error instanceof BusError ? error.code : undefined;
        // An unknown device or point is a typo, not an action: only reads that were refused for a
        // reason of the device (a forbidden range, too large) or failed on the line are recorded.
        if (code !== 'BUS_UNKNOWN_DEVICE' && code !== 'BUS_UNKNOWN_POINT')
          audit(actor, 'bus.read', deviceId, {
            ...detail,
            result: code === undefined ? 'failed' : 'refused',
            error: error instanceof Error ? error.message : String(error),
          });
        throw error;
      }
    },

    lighting: () => gateway.lightingSnapshot(),
    commandLighting: (cmd, actor) => gateway.commandLighting(cmd, actor),

    uplink: () => ({ configured: gateway.uplinkStats() !== null, stats: gateway.uplinkStats() }),

    strainMinutes: (deviceId) => [...(strainMinutes.get(deviceId) ?? [])],
    strainEvents: (deviceId) => [...(strainEvents.get(deviceId) ?? [])],

    on: (name, listener) => gateway.events.on(name, listener),
    now: () => store.now(),
    close() {
      for (const stop of unsubscribe.splice(0)) stop();
    },
  };
}

/** Free and total bytes of the data folder's file system; null (shown as unknown) when statfs fails, logged. */
function diskOf(dir: string, logger: Logger): { freeBytes: number; totalBytes: number } | null {
  try {
    const stats = statfsSync(dir);
    return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
  } catch (error) {
    // Not a failure of the page: the overview shows the disk as unknown, and the log says why.
    logger.debug({ err: error, dir }, 'the data folder file system could not be read');
    return null;
  }
}
