/**
 * Sample messages of every kind, typed with the contract's TypeScript types: if a type and its
 * schema drift apart, either this file stops compiling or validate.test.ts fails.
 */
import {
  EVENT_CLASS,
  LANE_OF_CLASS,
  type GatewayEventBody,
  type GatewayEventKind,
  type Lane,
  type OutboxEvent,
} from '../../../cloud-sync/contract/events.js';
import type {
  Ack,
  AlarmAcknowledgeCommand,
  AlarmShelveCommand,
  Command,
  ConfigDocument,
  EventsBatch,
  LampDimCommand,
  LampSwitchCommand,
  LoopSwitchCommand,
  Status,
} from '../../../cloud-sync/contract/types.js';

export const EPOCH = '7d0c2a6e-1f3b-4c5d-9e8f-0a1b2c3d4e5f';
export const TS = '2026-11-21T07:42:16.123Z';

/** One body per kind; the mapped type makes a new kind without a sample a compile error. */
export const BODY_SAMPLES: { [K in GatewayEventKind]: Extract<GatewayEventBody, { kind: K }> } = {
  alarm_transition: {
    kind: 'alarm_transition',
    alarmKey: 'cab-12-lamp-3:current_low',
    deviceId: 'cab-12-lamp-3',
    ruleKey: 'current_low',
    condition: 'low',
    from: 'normal',
    to: 'unacknowledged',
    level: 1,
    priority: 'medium',
    active: true,
    value: 0.12,
    setpoint: 0.5,
    cause: 'reading',
    by: null,
    reason: null,
    message: { 'zh-CN': '灯电流过低', en: 'Lamp current low' },
  },
  alarm_chattering: {
    kind: 'alarm_chattering',
    alarmKey: 'cab-12-lamp-3:current_low',
    deviceId: 'cab-12-lamp-3',
    activations: 4,
    windowS: 60,
  },
  vehicle: {
    kind: 'vehicle',
    deviceId: 'bridge-7',
    peakMicrostrain: 182.5,
    channel: 'g1',
    estimatedTonnes: 31.2,
    durationMs: 840,
  },
  overweight: {
    kind: 'overweight',
    deviceId: 'bridge-7',
    level: 2,
    thresholdTonnes: 49,
    estimatedTonnes: 55.1,
    peakMicrostrain: 321,
    channel: 'g2',
    durationMs: 910,
    windowId: 'w-1a2b',
  },
  lighting_action: {
    kind: 'lighting_action',
    deviceId: 'cab-12',
    target: 'loop-a',
    action: 'dim',
    value: 50,
    reason: 'calendar',
    ok: true,
    error: null,
  },
  telemetry: { kind: 'telemetry', deviceId: 'cab-12', values: { voltage: 229.8, doorOpen: false } },
  telemetry_aggregate: {
    kind: 'telemetry_aggregate',
    deviceId: 'cab-12',
    periodS: 60,
    periodStartMs: 1_795_000_000_000,
    points: { voltage: { min: 228, max: 231, mean: 229.6, count: 60 } },
  },
  strain_statistics: {
    kind: 'strain_statistics',
    deviceId: 'bridge-7',
    periodStartMs: 1_795_000_000_000,
    channels: { g1: { min: -3, max: 182, mean: 12, rms: 20, count: 6000 } },
  },
  audit: {
    kind: 'audit',
    actor: 'cli:root',
    action: 'alarm.shelve',
    target: 'cab-12:door',
    detail: { mode: 'timed' },
  },
  gap: {
    kind: 'gap',
    fromSeq: 10,
    toSeq: 19,
    count: 10,
    fromTs: TS,
    toTs: TS,
    reason: 'telemetry quota full',
  },
  store_quarantined: {
    kind: 'store_quarantined',
    file: 'kerbside.db',
    quarantinedAs: 'kerbside.db.corrupt-1',
    reason: 'quick_check failed',
  },
  command_result: {
    kind: 'command_result',
    commandId: '0b5e8f1a-2c3d-4e5f-8a9b-0c1d2e3f4a5b',
    action: 'lamp.switch',
    target: 'lamp-3',
    status: 'succeeded',
    error: null,
  },
  config_result: {
    kind: 'config_result',
    version: 3,
    hash: 'a'.repeat(64),
    status: 'rejected',
    activeVersion: 2,
    errors: [{ pointer: '/alarms/gas-1/h2s/levels', message: 'must be an array' }],
  },
  config_override: {
    kind: 'config_override',
    pointer: '/alarms/gas-1/h2s/onDelayS',
    action: 'set',
    value: 5,
    previous: 15,
    by: 'tech.wang',
    reason: 'nuisance alarms while the pump runs',
  },
};

export function uuidFor(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Every body kind of one lane as an outbox event, seq 21.. (after 20). */
export function sampleEvents(lane: Lane = 'priority'): OutboxEvent[] {
  return Object.values(BODY_SAMPLES)
    .filter((body) => LANE_OF_CLASS[EVENT_CLASS[body.kind]] === lane)
    .map((body, index) => ({
      seq: 21 + index,
      id: uuidFor(21 + index),
      ts: TS,
      ...body,
    }));
}

/** A batch holding every kind of its lane (each lane is its own stream, docs/uplink-lanes.md). */
export function sampleBatch(lane: Lane = 'priority'): EventsBatch {
  return { gw: 'cab-12', epoch: EPOCH, lane, after: 20, events: sampleEvents(lane) };
}

export const ACK_SAMPLE: Ack = { epoch: EPOCH, lane: 'priority', upTo: 33 };

export const STATUS_SAMPLE: Status = {
  online: true,
  version: '0.1.0',
  uptimeS: 3600.5,
  backlog: { count: 12, oldestAgeS: 4.2, byClass: { telemetry: 10, alarm: 2 } },
  epoch: EPOCH,
  lanes: { priority: { lastSeq: 45, ackedSeq: 33 }, telemetry: { lastSeq: 900, ackedSeq: 880 } },
  configVersion: 3,
};

/** The last will: the smallest status there is. */
export const WILL_SAMPLE: Status = {
  online: false,
  version: '0.1.0',
  uptimeS: 0,
  backlog: { count: 0, oldestAgeS: null },
};

const envelope = {
  id: '0b5e8f1a-2c3d-4e5f-8a9b-0c1d2e3f4a5b',
  issuedAt: '2026-11-21T07:40:00Z',
  expiresAt: '2026-11-21T07:45:00Z',
};

export const LAMP_SWITCH: LampSwitchCommand = {
  ...envelope,
  target: 'lamp-3',
  action: 'lamp.switch',
  params: { on: true, durationS: 3600, by: 'cloud:li', reason: 'maintenance' },
};
export const LAMP_DIM: LampDimCommand = {
  ...envelope,
  target: 'lamp-3',
  action: 'lamp.dim',
  params: { level: 40, durationS: 600, by: 'cloud:li', reason: 'test' },
};
export const LOOP_SWITCH: LoopSwitchCommand = {
  ...envelope,
  target: 'loop-a',
  action: 'loop.switch',
  params: { on: false, durationS: 60, by: 'cloud:li', reason: 'works' },
};
export const ALARM_ACK: AlarmAcknowledgeCommand = {
  ...envelope,
  target: 'cab-12:door',
  action: 'alarm.acknowledge',
  params: { by: 'cloud:li' },
};
export const SHELVE_TIMED: AlarmShelveCommand = {
  ...envelope,
  target: 'cab-12:door',
  action: 'alarm.shelve',
  params: { by: 'cloud:li', reason: 'door sensor broken', mode: 'timed', durationS: 7200 },
};
export const SHELVE_ONE_SHOT: AlarmShelveCommand = {
  ...envelope,
  target: 'cab-12:door',
  action: 'alarm.shelve',
  params: { by: 'cloud:li', reason: 'x', mode: 'one-shot' },
};

export const COMMAND_SAMPLES: Command[] = [
  LAMP_SWITCH,
  LAMP_DIM,
  LOOP_SWITCH,
  ALARM_ACK,
  SHELVE_TIMED,
  SHELVE_ONE_SHOT,
];

export const CONFIG_SAMPLE: ConfigDocument = {
  version: 3,
  hash: 'b'.repeat(64),
  document: {
    alarms: { 'gas-1': { h2s: { onDelayS: 0 } } },
    devices: { 'gas-1': { pollIntervalMs: 1000 } },
  },
};
