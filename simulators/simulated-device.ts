/**
 * One simulated Modbus device: a register bank laid out by a device profile, engineering values
 * read and written through the same point codec the gateway uses (so a simulator and the gateway
 * can only disagree if the profile is wrong), the profile's quirks enforced the way the real device
 * answers, and a scenario player that moves the values over time.
 *
 * Request checks follow the order of the server state diagrams in MAP v1.1b3 sections 6.1-6.12:
 * function supported (else exception 01), quantity acceptable (else 03), address range acceptable
 * (else 02), then execution. Time is read from an injectable Clock; values are brought up to the
 * clock's "now" by refresh(), which the slaves call before serving each request.
 */
import type { Logger } from 'pino';
import {
  decodeRequest,
  encodeException,
  encodeResponse,
  ExceptionCode,
  RequestRejection,
  type ModbusRequest,
} from '../drivers/modbus/pdu.js';
import { withRegisterBit } from '../drivers/modbus/datatypes.js';
import { decodePoint, encodePoint } from '../gateway/profiles/point-codec.js';
import type { LoadedProfile, RegisterTable, ResolvedPoint } from '../gateway/profiles/types.js';
import { systemClock, type Clock } from './clock.js';
import { SimulatorError } from './errors.js';
import { FaultController } from './faults.js';
import { silentLogger } from './logging.js';
import { createRng, seedFrom, type Rng } from './random.js';
import { isBitTable, RegisterBank } from './register-bank.js';
import { ScenarioPlayer } from './scenarios/player.js';
import type { ScenarioPlan } from './scenarios/plan.js';

export type PointValue = number | boolean;

export interface SimulatedDeviceOptions {
  profile: LoadedProfile;
  /** 1..247 (MSL 2.2); on Modbus TCP up to 255. */
  unitId: number;
  clock?: Clock;
  /** Seed for noise and traffic; default derived from profile id and unit id. */
  seed?: number;
  /** Scenario to start with; default 'normal'. */
  scenario?: string | ScenarioPlan;
  logger?: Logger;
}

/** The outcome of one request: the response PDU (normal or exception) and whether state changed. */
export interface ServedRequest {
  request: ModbusRequest | null;
  response: Buffer;
  exceptionCode: number | null;
}

const TABLE_OF_FC: Readonly<Record<number, RegisterTable>> = {
  0x01: 'coil',
  0x02: 'discrete',
  0x03: 'holding',
  0x04: 'input',
  0x05: 'coil',
  0x06: 'holding',
  0x0f: 'coil',
  0x10: 'holding',
};

export class SimulatedDevice {
  readonly profile: LoadedProfile;
  readonly unitId: number;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly bank = new RegisterBank();
  readonly faults: FaultController;
  readonly logger: Logger;
  private readonly points = new Map<string, ResolvedPoint>();
  /** Per table: address -> points occupying it. */
  private readonly byAddress: Record<RegisterTable, Map<number, ResolvedPoint[]>> = {
    coil: new Map(),
    discrete: new Map(),
    holding: new Map(),
    input: new Map(),
  };
  private readonly held = new Map<string, PointValue>();
  private readonly player: ScenarioPlayer;
  /** Requests served, by outcome (for the CLI's status line and tests). */
  readonly stats = { requests: 0, exceptions: 0 };

  constructor(options: SimulatedDeviceOptions) {
    const { profile, unitId } = options;
    if (!Number.isInteger(unitId) || unitId < 1 || unitId > 255) {
      throw new SimulatorError(
        'SIM_CONFIG_INVALID',
        `unit id ${unitId} is not in 1..255 (MSL 2.2: 1..247 on a serial line)`,
      );
    }
    this.profile = profile;
    this.unitId = unitId;
    this.clock = options.clock ?? systemClock;
    this.rng = createRng(options.seed ?? seedFrom(`${profile.id}#${unitId}`));
    this.logger = (options.logger ?? silentLogger).child({ unit: unitId, profile: profile.id });
    // A late answer must arrive after the master gave up: twice the profile's response timeout.
    this.faults = new FaultController({ defaultLateMs: 2 * profile.quirks.responseTimeoutMs, rng: this.rng });
    for (const point of profile.points) {
      this.points.set(point.key, point);
      const index = this.byAddress[point.table];
      for (let i = 0; i < point.count; i++) {
        const list = index.get(point.address + i) ?? [];
        list.push(point);
        index.set(point.address + i, list);
      }
    }
    this.player = new ScenarioPlayer(this, options.scenario ?? 'normal');
    this.refresh(); // the scenario's timeline starts now, not at the first request
  }

  // ------------------------------------------------------------ points and values

  hasPoint(key: string): boolean {
    return this.points.has(key);
  }

  /** The point with this key; throws SIM_POINT_MISSING naming the profile when there is none. */
  point(key: string): ResolvedPoint {
    const point = this.points.get(key);
    if (!point)
      throw new SimulatorError(
        'SIM_POINT_MISSING',
        `profile ${this.profile.id} (${this.profile.file}) has no point "${key}"`,
      );
    return point;
  }

  allPoints(): ResolvedPoint[] {
    return [...this.points.values()];
  }

  /** Writes an engineering value into the registers, as the device's own firmware would. */
  set(key: string, value: PointValue): void {
    this.writePoint(this.point(key), value);
  }

  /** Reads a point's engineering value from the registers (as the gateway would decode it). */
  get(key: string): PointValue {
    const point = this.point(key);
    return decodePoint(point, this.rawOf(point));
  }

  /** Numeric value of a point (booleans as 0/1). */
  num(key: string): number {
    const v = this.get(key);
    return typeof v === 'boolean' ? (v ? 1 : 0) : v;
  }

  /** Pins a point to a value: scenarios no longer move it until release(). */
  hold(key: string, value: PointValue): void {
    this.set(key, value);
    this.held.set(key, value);
  }

  release(key: string): void {
    this.held.delete(key);
  }

  isHeld(key: string): boolean {
    return this.held.has(key);
  }

  /** Replaces the running scenario (a name, `a+b` combination, `a@30,b` sequence, or a plan). */
  setScenario(scenario: string | ScenarioPlan): void {
    this.player.setPlan(scenario);
  }

  get scenario(): string {
    return this.player.describe();
  }

  /** Brings every value up to the clock's current time. */
  refresh(): void {
    this.player.advanceTo(this.clock.now());
  }

  /** Lets the device react to a write at once (its behaviour runs even if no time has passed). */
  private settleWrite(): void {
    this.player.advanceTo(this.clock.now(), true);
  }

  /** Writes the held values again (the scenario player calls this after each layer). */
  reapplyHeld(): void {
    for (const [key, value] of this.held) this.set(key, value);
  }

  /** The registers or bits a point occupies, in the form the point codec decodes. */
  private rawOf(point: ResolvedPoint): number[] | boolean[] {
    return isBitTable(point.table)
      ? this.bank.readBits(point.table, point.address, point.count)
      : this.bank.readWords(point.table, point.address, point.count);
  }

  private writePoint(point: ResolvedPoint, value: PointValue): void {
    let encoded: number[] | boolean[];
    try {
      encoded = encodePoint(point, value);
    } catch (error) {
      throw new SimulatorError(
        'SIM_VALUE_INVALID',
        `cannot set ${point.key} of ${this.profile.id} to ${String(value)}`,
        { cause: error },
      );
    }
    if (isBitTable(point.table)) {
      this.bank.writeBits(
        point.table,
        point.address,
        encoded.map((v) => v === true || v === 1),
      );
      return;
    }
    if (point.bit !== null) {
      // A flag packed into a register: merge it, keeping the other bits (the codec gives [bool]).
      const [register = 0] = this.bank.readWords(point.table, point.address, 1);
      const on = encoded[0] === true || encoded[0] === 1;
      this.bank.writeWords(point.table, point.address, [withRegisterBit(register, point.bit, on)]);
      return;
    }
    this.bank.writeWords(
      point.table,
      point.address,
      encoded.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v)),
    );
  }

  // ------------------------------------------------------------ Modbus requests

  /** Serves one request PDU (unit id and framing already removed); always returns a response PDU. */
  serve(pdu: Buffer): ServedRequest {
    this.stats.requests++;
    let request: ModbusRequest;
    try {
      request = decodeRequest(pdu);
    } catch (error) {
      if (!(error instanceof RequestRejection)) throw error;
      return this.reject(null, pdu[0] ?? 0, error.rejectWith, error.message);
    }
    this.refresh();
    const exceptionCode = this.check(request);
    if (exceptionCode !== null)
      return this.reject(request, request.fc, exceptionCode, 'refused by profile quirks or map');
    const response = this.execute(request);
    if (response.exceptionCode === null && request.fc >= 0x05) this.settleWrite();
    return response;
  }

  /** A broadcast (unit 0) is executed when it is a write and never answered (MSL 2.1). */
  serveBroadcast(pdu: Buffer): void {
    let request: ModbusRequest;
    try {
      request = decodeRequest(pdu);
    } catch {
      return; // nobody to tell (MSL 2.1: no reply to a broadcast, not even an exception)
    }
    if (request.fc < 0x05) return; // reads make no sense as broadcasts
    this.refresh();
    if (this.check(request) === null) {
      this.execute(request);
      this.settleWrite();
    }
  }

  private reject(request: ModbusRequest | null, fc: number, code: number, why: string): ServedRequest {
    this.stats.exceptions++;
    this.logger.debug({ fc, exceptionCode: code }, `exception: ${why}`);
    return { request, response: encodeException(fc, code), exceptionCode: code };
  }

  /** Quirk and map checks; returns the exception code to answer, or null to execute. */
  private check(req: ModbusRequest): number | null {
    const quirks = this.profile.quirks;
    if (req.fc === 0x10 && quirks.noFc16) return ExceptionCode.ILLEGAL_FUNCTION;
    const table = TABLE_OF_FC[req.fc];
    if (table === undefined) return ExceptionCode.ILLEGAL_FUNCTION;
    let address: number;
    let quantity: number;
    switch (req.fc) {
      case 0x01:
      case 0x02:
        if (req.quantity > quirks.maxBitsPerRead) return ExceptionCode.ILLEGAL_DATA_VALUE;
        ({ address, quantity } = req);
        break;
      case 0x03:
      case 0x04:
        if (req.quantity > quirks.maxRegistersPerRead) return ExceptionCode.ILLEGAL_DATA_VALUE;
        ({ address, quantity } = req);
        break;
      case 0x05:
      case 0x06:
        address = req.address;
        quantity = 1;
        break;
      case 0x0f:
      case 0x10:
        address = req.address;
        quantity = req.values.length;
        break;
    }
    const last = address + quantity - 1;
    for (const range of quirks.forbiddenRanges) {
      if (range.table === table && address <= range.end && last >= range.start)
        return ExceptionCode.ILLEGAL_DATA_ADDRESS;
    }
    if (req.fc >= 0x05) {
      // Every written address must belong to writable points only; anything else is refused
      // whole, before any change (MAP 6.5/6.6/6.11/6.12: exception 02, nothing executed).
      for (let a = address; a <= last; a++) {
        const points = this.byAddress[table].get(a);
        if (!points || points.some((p) => !p.writable)) return ExceptionCode.ILLEGAL_DATA_ADDRESS;
      }
    }
    return null;
  }

  private execute(req: ModbusRequest): ServedRequest {
    switch (req.fc) {
      case 0x01:
      case 0x02: {
        const bits = this.bank.readBits(req.fc === 0x01 ? 'coil' : 'discrete', req.address, req.quantity);
        return { request: req, response: encodeResponse(req, { bits }), exceptionCode: null };
      }
      case 0x03:
      case 0x04: {
        const registers = this.bank.readWords(
          req.fc === 0x03 ? 'holding' : 'input',
          req.address,
          req.quantity,
        );
        return { request: req, response: encodeResponse(req, { registers }), exceptionCode: null };
      }
      case 0x05:
      case 0x0f: {
        const values = req.fc === 0x05 ? [req.value] : req.values;
        const before = this.bank.readBits('coil', req.address, values.length);
        return this.commit(req, 'coil', req.address, values.length, {
          apply: () => this.bank.writeBits('coil', req.address, values),
          undo: () => this.bank.writeBits('coil', req.address, before),
        });
      }
      case 0x06:
      case 0x10: {
        const values = req.fc === 0x06 ? [req.value] : req.values;
        const before = this.bank.readWords('holding', req.address, values.length);
        return this.commit(req, 'holding', req.address, values.length, {
          apply: () => this.bank.writeWords('holding', req.address, values),
          undo: () => this.bank.writeWords('holding', req.address, before),
        });
      }
    }
  }

  /**
   * Applies a write, then checks every point it covered completely against the profile's min/max;
   * a value out of range is undone and answered with exception 03 ILLEGAL DATA VALUE, as devices
   * that validate setpoints do (MAP section 7).
   */
  private commit(
    req: ModbusRequest,
    table: 'coil' | 'holding',
    address: number,
    quantity: number,
    change: { apply: () => void; undo: () => void },
  ): ServedRequest {
    change.apply();
    const touched = new Set<ResolvedPoint>();
    for (let a = address; a < address + quantity; a++)
      for (const p of this.byAddress[table].get(a) ?? []) touched.add(p);
    for (const point of touched) {
      const complete = point.address >= address && point.address + point.count <= address + quantity;
      if (!complete) continue;
      const value = decodePoint(point, this.rawOf(point));
      const outOfRange =
        typeof value === 'number' &&
        ((point.min !== null && value < point.min) || (point.max !== null && value > point.max));
      if (outOfRange) {
        change.undo();
        return this.reject(
          req,
          req.fc,
          ExceptionCode.ILLEGAL_DATA_VALUE,
          `${point.key}=${value} outside ${point.min}..${point.max}`,
        );
      }
    }
    this.logger.debug({ fc: req.fc, address, quantity }, 'write');
    return { request: req, response: encodeResponse(req), exceptionCode: null };
  }
}
