/**
 * The cabinet app's shared state: the session, the router and what the live stream last said.
 * Pages read their snapshot from the API and merge these signals over it.
 */
import { signal } from '@preact/signals';
import type {
  AlarmView,
  BusDiagnostics,
  LiveEvents,
  PointValueView,
  Session,
  UplinkState,
} from '../../gateway/web/api-types.js';
import { setServerTime } from '../kit/clock.js';
import { connectLive } from '../kit/live.js';
import { createRouter } from '../kit/router.js';

/** Every page's path; the order is the match order. */
export const ROUTES = {
  overview: '/overview',
  device: '/devices/:id',
  alarms: '/alarms',
  lighting: '/lighting',
  bus: '/bus',
  strain: '/strain',
  thresholds: '/thresholds',
  audit: '/audit',
  users: '/users',
  login: '/login',
  setup: '/setup',
} as const;

export type PageId = keyof typeof ROUTES;

export const router = createRouter(Object.values(ROUTES), ROUTES.overview);

export const session = signal<Session | null>(null);

/** The cabinet's time zone (the session's), or the browser's before sign-in. */
export function timeZone(): string {
  return session.value?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export interface DeviceLive {
  online: boolean;
  values: Record<string, PointValueView>;
}

export const live = {
  uplink: signal<UplinkState | null>(null),
  bus: signal<BusDiagnostics | null>(null),
  /** Device id -> the latest values by point key. */
  devices: signal<Record<string, DeviceLive>>({}),
  /** The last alarm change and a counter pages watch to refresh their lists. */
  lastAlarm: signal<AlarmView | null>(null),
  alarmChanges: signal(0),
  lighting: signal<LiveEvents['lighting'] | null>(null),
  lightingChanges: signal(0),
};

let disconnect: (() => void) | null = null;

export function startLive(): void {
  if (disconnect !== null) return;
  disconnect = connectLive('/api/live', {
    hello: (data) => setServerTime(data.serverWallMs),
    values: (data) => {
      const previous = live.devices.value[data.deviceId]?.values ?? {};
      const values = { ...previous };
      for (const v of data.values) values[v.key] = v;
      live.devices.value = { ...live.devices.value, [data.deviceId]: { online: data.online, values } };
    },
    alarm: (data) => {
      live.lastAlarm.value = data;
      live.alarmChanges.value += 1;
    },
    bus: (data) => {
      live.bus.value = data;
    },
    uplink: (data) => {
      live.uplink.value = data;
    },
    lighting: (data) => {
      live.lighting.value = data;
      live.lightingChanges.value += 1;
    },
  });
}

export function stopLive(): void {
  disconnect?.();
  disconnect = null;
  live.devices.value = {};
  live.bus.value = null;
  live.uplink.value = null;
}
