/**
 * The simulation config file (`npm run sim -- --config sim.json`): the JSON form of
 * SimulationConfig's buses and devices. Every problem is reported with its JSON path, all at once,
 * so a person can fix the file in one go.
 *
 *   {
 *     "buses": [
 *       { "id": "line1", "kind": "rtu", "pty": true, "serial": { "baudRate": 9600, "parity": "even" } },
 *       { "id": "lan", "kind": "tcp", "port": 1502 }
 *     ],
 *     "devices": [
 *       { "bus": "line1", "unitId": 1, "profile": "gas-detector/anqi-gd300", "scenario": "gas-leak" },
 *       { "bus": "line1", "unitId": 2, "profile": "manhole-cover/anjing-mc200", "fault": "no-answer:0.1" }
 *     ]
 *   }
 */
import type { SerialSettings } from '../drivers/transport/transport.js';
import { SimulatorError } from './errors.js';
import type { BusConfig, DeviceConfig, RtuBusConfig } from './index.js';

export interface SimulationFile {
  buses: BusConfig[];
  devices: DeviceConfig[];
}

type Json = unknown;

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Checker {
  readonly problems: string[] = [];

  problem(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  keys(obj: Record<string, Json>, path: string, allowed: string[]): void {
    for (const key of Object.keys(obj))
      if (!allowed.includes(key))
        this.problem(`${path}.${key}`, `unknown field (allowed: ${allowed.join(', ')})`);
  }

  string(obj: Record<string, Json>, key: string, path: string, required: boolean): string | undefined {
    const v = obj[key];
    if (v === undefined) {
      if (required) this.problem(`${path}.${key}`, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || v === '') this.problem(`${path}.${key}`, 'must be a non-empty string');
    return typeof v === 'string' ? v : undefined;
  }

  integer(obj: Record<string, Json>, key: string, path: string, required: boolean): number | undefined {
    const v = obj[key];
    if (v === undefined) {
      if (required) this.problem(`${path}.${key}`, 'is required');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) this.problem(`${path}.${key}`, 'must be an integer');
    return typeof v === 'number' ? v : undefined;
  }

  /** A required non-empty array, each item checked by `check`; returns the items that passed. */
  list<T>(
    obj: Record<string, Json>,
    key: string,
    path: string,
    check: (c: Checker, raw: Json, path: string) => T | undefined,
  ): T[] {
    const v = obj[key];
    if (!Array.isArray(v) || v.length === 0) {
      this.problem(`${path}.${key}`, 'must be a non-empty array');
      return [];
    }
    const items: T[] = [];
    v.forEach((item: Json, i) => {
      const checked = check(this, item, `${path}.${key}[${i}]`);
      if (checked) items.push(checked);
    });
    return items;
  }
}

function checkBus(c: Checker, raw: Json, path: string): BusConfig | undefined {
  if (!isObject(raw)) {
    c.problem(path, 'must be an object');
    return undefined;
  }
  const id = c.string(raw, 'id', path, false);
  const host = c.string(raw, 'host', path, false);
  if (raw.kind === 'tcp') {
    c.keys(raw, path, ['id', 'kind', 'port', 'host']);
    const port = c.integer(raw, 'port', path, true) ?? 0;
    return { kind: 'tcp', port, ...(id ? { id } : {}), ...(host ? { host } : {}) };
  }
  if (raw.kind !== 'rtu') {
    c.problem(`${path}.kind`, 'must be "rtu" or "tcp"');
    return undefined;
  }
  c.keys(raw, path, [
    'id',
    'kind',
    'path',
    'pty',
    'rtuOverTcpPort',
    'host',
    'serial',
    'pacing',
    'turnaroundMs',
    'ptyFallback',
  ]);
  const bus: RtuBusConfig = { kind: 'rtu', ...(id ? { id } : {}), ...(host ? { host } : {}) };
  const serialPath = c.string(raw, 'path', path, false);
  if (serialPath) bus.path = serialPath;
  if (raw.pty !== undefined) {
    if (typeof raw.pty !== 'boolean') c.problem(`${path}.pty`, 'must be true or false');
    else bus.pty = raw.pty;
  }
  const port = c.integer(raw, 'rtuOverTcpPort', path, false);
  if (port !== undefined) bus.rtuOverTcpPort = port;
  if (raw.ptyFallback !== undefined) {
    if (typeof raw.ptyFallback !== 'boolean') c.problem(`${path}.ptyFallback`, 'must be true or false');
    else bus.ptyFallback = raw.ptyFallback;
  }
  if (raw.pacing !== undefined) {
    if (typeof raw.pacing !== 'boolean') c.problem(`${path}.pacing`, 'must be true or false');
    else bus.pacing = raw.pacing;
  }
  if (raw.turnaroundMs !== undefined) {
    if (typeof raw.turnaroundMs !== 'number' || raw.turnaroundMs < 0)
      c.problem(`${path}.turnaroundMs`, 'must be a number >= 0');
    else bus.turnaroundMs = raw.turnaroundMs;
  }
  if (raw.serial !== undefined) {
    if (!isObject(raw.serial)) c.problem(`${path}.serial`, 'must be an object');
    else {
      const s = raw.serial;
      c.keys(s, `${path}.serial`, ['baudRate', 'dataBits', 'parity', 'stopBits']);
      const serial: Partial<SerialSettings> = {};
      const baudRate = c.integer(s, 'baudRate', `${path}.serial`, false);
      if (baudRate !== undefined) serial.baudRate = baudRate;
      if (s.dataBits !== undefined) {
        if (s.dataBits === 7 || s.dataBits === 8) serial.dataBits = s.dataBits;
        else c.problem(`${path}.serial.dataBits`, 'must be 7 or 8');
      }
      if (s.stopBits !== undefined) {
        if (s.stopBits === 1 || s.stopBits === 2) serial.stopBits = s.stopBits;
        else c.problem(`${path}.serial.stopBits`, 'must be 1 or 2');
      }
      if (s.parity !== undefined) {
        if (s.parity === 'none' || s.parity === 'even' || s.parity === 'odd') serial.parity = s.parity;
        else c.problem(`${path}.serial.parity`, 'must be "none", "even" or "odd"');
      }
      bus.serial = serial;
    }
  }
  return bus;
}

function checkDevice(c: Checker, raw: Json, path: string): DeviceConfig | undefined {
  if (!isObject(raw)) {
    c.problem(path, 'must be an object');
    return undefined;
  }
  c.keys(raw, path, ['bus', 'unitId', 'profile', 'scenario', 'fault', 'seed']);
  const bus = raw.bus;
  if (typeof bus !== 'string' && !(typeof bus === 'number' && Number.isInteger(bus)))
    c.problem(`${path}.bus`, 'must be a bus id or index');
  const unitId = c.integer(raw, 'unitId', path, true);
  const profile = c.string(raw, 'profile', path, true);
  const scenario = c.string(raw, 'scenario', path, false);
  const fault = c.string(raw, 'fault', path, false);
  const seed = c.integer(raw, 'seed', path, false);
  if ((typeof bus !== 'string' && typeof bus !== 'number') || unitId === undefined || profile === undefined)
    return undefined;
  return {
    bus,
    unitId,
    profile,
    ...(scenario ? { scenario } : {}),
    ...(fault ? { fault } : {}),
    ...(seed === undefined ? {} : { seed }),
  };
}

/** Parses and checks a config file's text; throws SIM_CONFIG_INVALID listing every problem. */
export function parseSimulationFile(text: string, file: string): SimulationFile {
  let raw: Json;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new SimulatorError(
      'SIM_CONFIG_INVALID',
      `${file}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const c = new Checker();
  let buses: BusConfig[] = [];
  let devices: DeviceConfig[] = [];
  if (!isObject(raw)) c.problem('$', 'must be an object with "buses" and "devices"');
  else {
    c.keys(raw, '$', ['$comment', 'buses', 'devices']);
    buses = c.list(raw, 'buses', '$', checkBus);
    devices = c.list(raw, 'devices', '$', checkDevice);
  }
  if (c.problems.length > 0) {
    throw new SimulatorError(
      'SIM_CONFIG_INVALID',
      `${file}: ${c.problems.length} problem(s)\n  ${c.problems.join('\n  ')}`,
    );
  }
  return { buses, devices };
}
