/**
 * Fault injection for one simulated device. A fault decides, per request, whether the device
 * misbehaves and how; the slaves (modbus-slave.ts) carry out the decision on the wire. Faults can
 * be changed at any time (tests flip them between requests); one mode is active at a time, with a
 * probability per request (1 = always).
 *
 * Modes and what a master should see (Modbus over Serial Line v1.02 = MSL, MAP v1.1b3 = MAP):
 * - no-answer:   silence; the master times out (MSL 2.4.1: a slave that did not get a valid request
 *                does not answer).
 * - late-answer: a correct reply, but after the master's response timeout has passed.
 * - bad-crc:     a reply whose CRC-16 is wrong (MSL 2.5.1.2); RTU framing only, MBAP has no CRC.
 * - wrong-unit:  a correct reply carrying another unit id (a second slave with a clashing address).
 * - exception:   an exception response with the given code (MAP section 7), default 0x04.
 * - truncated:   only the first part of the reply (a slave reset or line dropout mid-frame); on
 *                TCP the connection is then closed, the only way MBAP can end a frame early.
 */
import { SimulatorError } from './errors.js';
import { createRng, type Rng } from './random.js';

export const FAULT_MODES = [
  'none',
  'no-answer',
  'late-answer',
  'bad-crc',
  'wrong-unit',
  'exception',
  'truncated',
] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface FaultSpec {
  mode: FaultMode;
  /** Chance per request in 0..1; 1 (the default) means always. */
  probability?: number;
  /** late-answer: extra delay in ms on top of the normal reply time (default: twice the profile's response timeout). */
  delayMs?: number;
  /** exception: the exception code to answer (default 0x04 SERVER DEVICE FAILURE). */
  exceptionCode?: number;
  /** wrong-unit: the unit id to answer with (default: the addressed unit + 1, within 1..247). */
  unitId?: number;
}

/** What the slave should do with one request. */
export type FaultAction =
  | { kind: 'answer' }
  | { kind: 'no-answer' }
  | { kind: 'late-answer'; delayMs: number }
  | { kind: 'bad-crc' }
  | { kind: 'wrong-unit'; unitId: number }
  | { kind: 'exception'; exceptionCode: number }
  | { kind: 'truncated' };

function invalid(message: string): SimulatorError {
  return new SimulatorError('SIM_FAULT_INVALID', message);
}

export function isFaultMode(value: string): value is FaultMode {
  return (FAULT_MODES as readonly string[]).includes(value);
}

export function validateFault(spec: FaultSpec): FaultSpec {
  if (!isFaultMode(spec.mode))
    throw invalid(`unknown fault mode "${String(spec.mode)}" (known: ${FAULT_MODES.join(', ')})`);
  const p = spec.probability ?? 1;
  if (!(p >= 0 && p <= 1)) throw invalid(`fault probability ${p} is not in 0..1`);
  if (spec.delayMs !== undefined && !(spec.delayMs >= 0))
    throw invalid(`fault delay ${spec.delayMs} ms is negative`);
  const code = spec.exceptionCode;
  if (code !== undefined && !(Number.isInteger(code) && code >= 1 && code <= 0xff)) {
    throw invalid(`exception code ${code} is not in 1..255`);
  }
  const unit = spec.unitId;
  if (unit !== undefined && !(Number.isInteger(unit) && unit >= 0 && unit <= 255))
    throw invalid(`unit id ${unit} is not in 0..255`);
  return spec;
}

/**
 * Parses the CLI / config notation `mode[:probability|always][:key=value...]`, e.g. `bad-crc:0.1`,
 * `late-answer:always:delay=1500`, `exception:1:code=6`, `wrong-unit:0.5:unit=9`.
 */
export function parseFault(text: string): FaultSpec {
  const [mode = '', ...rest] = text.trim().split(':');
  if (!isFaultMode(mode))
    throw invalid(`unknown fault mode "${mode}" in "${text}" (known: ${FAULT_MODES.join(', ')})`);
  const spec: FaultSpec = { mode };
  rest.forEach((part, i) => {
    if (i === 0 && !part.includes('=')) {
      const p = part === 'always' ? 1 : Number(part);
      if (part === '' || !Number.isFinite(p))
        throw invalid(`fault probability "${part}" in "${text}" is neither a number nor "always"`);
      spec.probability = p;
      return;
    }
    const [key = '', value = ''] = part.split('=');
    const n = Number(value);
    if (value === '' || !Number.isFinite(n))
      throw invalid(`fault option "${part}" in "${text}" needs a numeric value`);
    if (key === 'delay') spec.delayMs = n;
    else if (key === 'code') spec.exceptionCode = n;
    else if (key === 'unit') spec.unitId = n;
    else throw invalid(`unknown fault option "${key}" in "${text}" (known: delay, code, unit)`);
  });
  return validateFault(spec);
}

export function formatFault(spec: FaultSpec): string {
  const p = spec.probability ?? 1;
  return spec.mode === 'none' ? 'none' : `${spec.mode}:${p === 1 ? 'always' : p}`;
}

export interface FaultControllerOptions {
  /** late-answer delay when the spec gives none. */
  defaultLateMs: number;
  rng?: Rng;
}

export class FaultController {
  private spec: FaultSpec = { mode: 'none' };
  private readonly rng: Rng;
  /** Faults actually injected, per mode (tests and the CLI report these). */
  readonly injected: Record<FaultMode, number> = {
    none: 0,
    'no-answer': 0,
    'late-answer': 0,
    'bad-crc': 0,
    'wrong-unit': 0,
    exception: 0,
    truncated: 0,
  };

  constructor(private readonly options: FaultControllerOptions) {
    this.rng = options.rng ?? createRng(0x5eed);
  }

  get current(): Readonly<FaultSpec> {
    return this.spec;
  }

  /** Replaces the active fault; a bare mode means "always". */
  set(spec: FaultSpec | FaultMode): void {
    this.spec = validateFault(typeof spec === 'string' ? { mode: spec } : { ...spec });
  }

  clear(): void {
    this.spec = { mode: 'none' };
  }

  /** Draws the fault for one request addressed to `unitId`. */
  decide(unitId: number): FaultAction {
    const spec = this.spec;
    if (spec.mode === 'none') return { kind: 'answer' };
    const p = spec.probability ?? 1;
    if (p < 1 && this.rng.next() >= p) return { kind: 'answer' };
    this.injected[spec.mode]++;
    switch (spec.mode) {
      case 'no-answer':
      case 'bad-crc':
      case 'truncated':
        return { kind: spec.mode };
      case 'late-answer':
        return { kind: 'late-answer', delayMs: spec.delayMs ?? this.options.defaultLateMs };
      case 'exception':
        return { kind: 'exception', exceptionCode: spec.exceptionCode ?? 0x04 };
      case 'wrong-unit':
        return { kind: 'wrong-unit', unitId: spec.unitId ?? (unitId % 247) + 1 };
    }
  }
}

/** Flips the CRC's high byte so the frame fails its check (MSL 2.5.1.2) but keeps its length. */
export function corruptCrc(frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  const last = out.length - 1;
  out[last] = (out[last] ?? 0) ^ 0xa5;
  return out;
}

/** The first part of a frame: about half, at least one byte short of complete. */
export function truncateFrame(frame: Buffer): Buffer {
  return frame.subarray(0, Math.max(1, Math.min(frame.length - 1, Math.ceil(frame.length / 2))));
}
