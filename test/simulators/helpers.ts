/**
 * Shared bits of the simulator tests: profiles from the real device-profiles/, devices on a manual
 * clock. Nothing here opens a port, so the pure simulator suites stay in the unit tier
 * (test/tiers.ts); the clients on real transports are in ./transport-helpers.ts.
 */
import assert from 'node:assert/strict';
import { isModbusError, type ModbusError, type ModbusErrorCode } from '../../drivers/modbus/errors.js';
import {
  decodeResponse,
  encodeRequest,
  type ModbusRequest,
  type ModbusResponse,
} from '../../drivers/modbus/pdu.js';
import type { LoadedProfile } from '../../gateway/profiles/types.js';
import { ManualClock } from '../../simulators/clock.js';
import { ProfileCatalogue } from '../../simulators/profiles.js';
import type { ScenarioPlan } from '../../simulators/scenarios/plan.js';
import { SimulatedDevice } from '../../simulators/simulated-device.js';

export const GAS = 'gas-detector/anqi-gd300';
export const COVER = 'manhole-cover/anjing-mc200';
export const BRIDGE = 'bridge-strain/qiaoce-vw8';
export const LAMPS = 'lamp-concentrator/kerbtek-lc3200';

const catalogue = new ProfileCatalogue();

export function profile(ref: string): LoadedProfile {
  return catalogue.resolve(ref);
}

export function makeDevice(
  ref: string | LoadedProfile,
  scenario: string | ScenarioPlan = 'normal',
  options: { unitId?: number; seed?: number } = {},
): { device: SimulatedDevice; clock: ManualClock } {
  const clock = new ManualClock();
  const device = new SimulatedDevice({
    profile: typeof ref === 'string' ? profile(ref) : ref,
    unitId: options.unitId ?? 1,
    clock,
    scenario,
    seed: options.seed ?? 42,
  });
  return { device, clock };
}

/** Serves one request PDU on a device and decodes the answer as a client would (throws ModbusError on exceptions). */
export function ask(device: SimulatedDevice, req: ModbusRequest): ModbusResponse {
  return decodeResponse(req, device.serve(encodeRequest(req)).response);
}

/** The exception code a request is answered with, failing if it succeeds. */
export function exceptionOf(device: SimulatedDevice, req: ModbusRequest): number | undefined {
  try {
    ask(device, req);
  } catch (error) {
    assert.ok(
      isModbusError(error, 'MODBUS_EXCEPTION'),
      `expected an exception response, got ${String(error)}`,
    );
    return error.exceptionCode;
  }
  assert.fail(`expected an exception response to ${JSON.stringify(req)}`);
}

/** Steps the clock, refreshing after each step, and records fn's value at each step. */
export function run<T>(
  device: SimulatedDevice,
  clock: ManualClock,
  untilMs: number,
  stepMs: number,
  fn: (tMs: number) => T,
): T[] {
  const out: T[] = [];
  const start = clock.now();
  for (let t = 0; t <= untilMs; t += stepMs) {
    clock.set(start + t);
    device.refresh();
    out.push(fn(t));
  }
  return out;
}

export async function expectModbusError(
  promise: Promise<unknown>,
  code: ModbusErrorCode,
): Promise<ModbusError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isModbusError(error), `expected a ModbusError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but the request succeeded`);
}
