/**
 * The simulators as a library: start buses (RTU on a pseudo-terminal, a serial path or RTU over
 * TCP; Modbus TCP) with simulated devices on them, and get handles to change scenarios, faults
 * and values while they run. Tests, the demo and the CLI all start simulations through here.
 *
 *   const sim = await startSimulation({
 *     buses: [{ id: 'line1', kind: 'rtu', pty: true }, { id: 'lan', kind: 'tcp', port: 0 }],
 *     devices: [{ bus: 'line1', unitId: 1, profile: 'gas-detector/anqi-gd300', scenario: 'gas-leak' }],
 *   });
 *   sim.buses[0].gatewayPath   // the path the gateway opens
 *   sim.device('line1', 1).setFault('bad-crc:0.1');
 *   await sim.stop();
 */
import type { Logger } from 'pino';
import type { SerialSettings } from '../drivers/transport/transport.js';
import type { LoadedProfile } from '../gateway/profiles/types.js';
import { systemClock, type Clock } from './clock.js';
import { SimulatorError } from './errors.js';
import { parseFault, validateFault, type FaultSpec } from './faults.js';
import { silentLogger } from './logging.js';
import { seedFrom } from './random.js';
import { RtuSlave, TcpSlave, type RtuEndpoint } from './modbus-slave.js';
import { DEFAULT_TURNAROUND_MS, type RtuPacing } from './pacing.js';
import { ProfileCatalogue } from './profiles.js';
import { createPtyPair, type PtyPair } from './pty-pair.js';
import type { ScenarioPlan } from './scenarios/plan.js';
import { SimulatedDevice, type PointValue } from './simulated-device.js';

export { SimulatedDevice, type PointValue } from './simulated-device.js';
export { RtuSlave, TcpSlave, type RtuEndpoint } from './modbus-slave.js';
export { ManualClock, systemClock, type Clock } from './clock.js';
export { FAULT_MODES, parseFault, type FaultMode, type FaultSpec } from './faults.js';
export { SimulatorError, type SimulatorErrorCode } from './errors.js';
export { listScenarios, parsePlan, type ScenarioPlan } from './scenarios/index.js';
export { rtuReplyDelayMs, rtuTransactionWireMs, type RtuPacing } from './pacing.js';
export { ProfileCatalogue } from './profiles.js';

/** MSL 2.5.1: 8 data bits, even parity, 1 stop bit is the default; 9600 baud is the common rate. */
export const DEFAULT_SERIAL: Readonly<SerialSettings> = {
  baudRate: 9600,
  dataBits: 8,
  parity: 'even',
  stopBits: 1,
};

export interface RtuBusConfig {
  kind: 'rtu';
  /** Name devices use to pick this bus; default its index as a string. */
  id?: string;
  /** Serve on this serial path (a real adapter or one end of a pty pair made elsewhere) ... */
  path?: string;
  /** ... or make a pseudo-terminal pair and serve one end (the handle names the other) ... */
  pty?: boolean;
  /** ... or accept raw RTU frames on this TCP port (0: any free port). */
  rtuOverTcpPort?: number;
  host?: string;
  serial?: Partial<SerialSettings>;
  /**
   * Wire-speed pacing (pacing.ts). Default: on for a pty or RTU over TCP, off for a real serial
   * path, whose UART already takes the wire time.
   */
  pacing?: boolean;
  /** Slave turnaround of a paced reply (default 2 ms). */
  turnaroundMs?: number;
  /** When no pty can be made, serve RTU over TCP instead of failing (default true). */
  ptyFallback?: boolean;
}

export interface TcpBusConfig {
  kind: 'tcp';
  id?: string;
  /** 0: any free port (read it from the handle). */
  port: number;
  host?: string;
}

export type BusConfig = RtuBusConfig | TcpBusConfig;

export interface DeviceConfig {
  /** Bus id, or index into `buses`. */
  bus: string | number;
  unitId: number;
  /** "family/id", "id", a path to a profile file, or a loaded profile. */
  profile: string | LoadedProfile;
  scenario?: string | ScenarioPlan;
  fault?: string | FaultSpec;
  seed?: number;
}

export interface SimulationConfig {
  buses: BusConfig[];
  devices: DeviceConfig[];
  /** Default: real time. Tests pass a ManualClock to step scenarios. */
  clock?: Clock;
  profileDirectory?: string;
  logger?: Logger;
}

export interface BusHandle {
  id: string;
  kind: 'rtu' | 'tcp';
  /** What carries the bus: 'serial' (a path or our pty), 'rtu-over-tcp', or 'tcp' (MBAP). */
  endpoint: 'serial' | 'rtu-over-tcp' | 'tcp';
  /** Where the simulator listens: a serial path or host:port. */
  address: string;
  /** What the gateway opens: the other end of the pty, the serial path, or host:port. */
  gatewayPath: string;
  /** TCP port for 'rtu-over-tcp' and 'tcp'. */
  port: number | null;
  serial: SerialSettings | null;
  pacing: RtuPacing | null;
  /** How the pty pair was made, when this bus made one. */
  ptyMethod: PtyPair['method'] | null;
  slave: RtuSlave | TcpSlave;
}

export interface DeviceHandle {
  bus: BusHandle;
  unitId: number;
  profile: LoadedProfile;
  device: SimulatedDevice;
  setScenario(scenario: string | ScenarioPlan): void;
  /** A fault spec or its text form (`bad-crc:0.1`, `late-answer:always:delay=1500`). */
  setFault(fault: string | FaultSpec): void;
  clearFault(): void;
  /** Current engineering value (brought up to the clock's now first). */
  get(key: string): PointValue;
  set(key: string, value: PointValue): void;
  hold(key: string, value: PointValue): void;
  release(key: string): void;
}

export interface Simulation {
  buses: BusHandle[];
  devices: DeviceHandle[];
  bus(id: string): BusHandle;
  device(busId: string, unitId: number): DeviceHandle;
  stop(): Promise<void>;
}

function invalid(message: string): SimulatorError {
  return new SimulatorError('SIM_CONFIG_INVALID', message);
}

function serialOf(config: RtuBusConfig): SerialSettings {
  const serial = { ...DEFAULT_SERIAL, ...config.serial };
  if (!(Number.isInteger(serial.baudRate) && serial.baudRate >= 300 && serial.baudRate <= 4_000_000)) {
    throw invalid(`baud rate ${serial.baudRate} is not a serial line speed`);
  }
  if (!['none', 'even', 'odd'].includes(serial.parity))
    throw invalid(`parity "${serial.parity}" is not none, even or odd`);
  if (serial.dataBits !== 8 && serial.dataBits !== 7)
    throw invalid(`data bits ${serial.dataBits} is not 7 or 8`);
  if (serial.stopBits !== 1 && serial.stopBits !== 2)
    throw invalid(`stop bits ${serial.stopBits} is not 1 or 2`);
  return serial;
}

function checkPort(port: number, what: string): void {
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw invalid(`${what} ${port} is not a TCP port (0..65535)`);
}

function faultFor(bus: BusHandle, fault: string | FaultSpec): FaultSpec {
  const spec = typeof fault === 'string' ? parseFault(fault) : validateFault(fault);
  if (spec.mode === 'bad-crc' && bus.kind === 'tcp') {
    throw new SimulatorError(
      'SIM_FAULT_INVALID',
      `bad-crc cannot be injected on Modbus TCP bus "${bus.id}": MBAP frames carry no CRC`,
    );
  }
  return spec;
}

/** Builds the devices, opens the buses, and starts serving. On any failure everything started is stopped again. */
export async function startSimulation(config: SimulationConfig): Promise<Simulation> {
  const logger = config.logger ?? silentLogger;
  const clock = config.clock ?? systemClock;
  const catalogue = new ProfileCatalogue(config.profileDirectory);
  if (config.buses.length === 0) throw invalid('a simulation needs at least one bus');
  const ids = config.buses.map((b, i) => b.id ?? String(i));
  if (new Set(ids).size !== ids.length) throw invalid(`bus ids must be unique (got ${ids.join(', ')})`);

  // Devices first: a bad profile, scenario or fault fails before anything is opened.
  const devicesByBus = new Map<string, SimulatedDevice[]>(ids.map((id) => [id, []]));
  const pending = config.devices.map((d) => {
    const busId = typeof d.bus === 'number' ? ids[d.bus] : d.bus;
    if (busId === undefined || !devicesByBus.has(busId))
      throw invalid(`device unit ${d.unitId} names bus "${String(d.bus)}", which is not configured`);
    const busConfig = config.buses[ids.indexOf(busId)];
    if (busConfig?.kind === 'rtu' && !(d.unitId >= 1 && d.unitId <= 247)) {
      throw invalid(`unit id ${d.unitId} on RTU bus "${busId}" is not in 1..247 (MSL 2.2)`);
    }
    const profile = catalogue.resolve(d.profile);
    const device = new SimulatedDevice({
      profile,
      unitId: d.unitId,
      clock,
      logger,
      ...(d.scenario === undefined ? {} : { scenario: d.scenario }),
      seed: d.seed ?? seedFrom(`${busId}/${profile.id}#${d.unitId}`),
    });
    devicesByBus.get(busId)?.push(device);
    return { config: d, busId, device };
  });

  const buses: BusHandle[] = [];
  const ptys: PtyPair[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(buses.map((b) => b.slave.stop()));
    await Promise.allSettled(ptys.map((p) => p.close()));
  };
  try {
    for (const [i, busConfig] of config.buses.entries()) {
      const id = ids[i] ?? String(i);
      const devices = devicesByBus.get(id) ?? [];
      buses.push(
        busConfig.kind === 'tcp'
          ? await startTcpBus(id, busConfig, devices, logger)
          : await startRtuBus(id, busConfig, devices, logger, ptys),
      );
    }
  } catch (error) {
    await stopAll();
    throw error;
  }

  const handles = pending.map(({ config: d, busId, device }): DeviceHandle => {
    const bus = buses.find((b) => b.id === busId);
    if (!bus) throw invalid(`bus "${busId}" did not start`);
    const handle: DeviceHandle = {
      bus,
      unitId: d.unitId,
      profile: device.profile,
      device,
      setScenario: (scenario) => device.setScenario(scenario),
      setFault: (fault) => device.faults.set(faultFor(bus, fault)),
      clearFault: () => device.faults.clear(),
      get: (key) => {
        device.refresh();
        return device.get(key);
      },
      set: (key, value) => device.set(key, value),
      hold: (key, value) => device.hold(key, value),
      release: (key) => device.release(key),
    };
    if (d.fault !== undefined) handle.setFault(d.fault);
    return handle;
  });

  let stopped = false;
  return {
    buses,
    devices: handles,
    bus(id) {
      const bus = buses.find((b) => b.id === id);
      if (!bus) throw invalid(`no bus "${id}" (buses: ${ids.join(', ')})`);
      return bus;
    },
    device(busId, unitId) {
      const handle = handles.find((h) => h.bus.id === busId && h.unitId === unitId);
      if (!handle) throw invalid(`no device with unit id ${unitId} on bus "${busId}"`);
      return handle;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopAll();
    },
  };
}

async function startTcpBus(
  id: string,
  config: TcpBusConfig,
  devices: SimulatedDevice[],
  logger: Logger,
): Promise<BusHandle> {
  checkPort(config.port, `TCP port of bus "${id}"`);
  const slave = new TcpSlave({
    port: config.port,
    devices,
    logger,
    ...(config.host ? { host: config.host } : {}),
  });
  await slave.start();
  return {
    id,
    kind: 'tcp',
    endpoint: 'tcp',
    address: slave.address,
    gatewayPath: slave.address,
    port: slave.port,
    serial: null,
    pacing: null,
    ptyMethod: null,
    slave,
  };
}

async function startRtuBus(
  id: string,
  config: RtuBusConfig,
  devices: SimulatedDevice[],
  logger: Logger,
  ptys: PtyPair[],
): Promise<BusHandle> {
  const serial = serialOf(config);
  const chosen = [config.path !== undefined, config.pty === true, config.rtuOverTcpPort !== undefined].filter(
    Boolean,
  ).length;
  if (chosen !== 1) throw invalid(`RTU bus "${id}" needs exactly one of path, pty or rtuOverTcpPort`);
  let endpoint: RtuEndpoint;
  let gatewayPath: string | null = null;
  let ptyMethod: PtyPair['method'] | null = null;
  let viaPty = false;
  if (config.pty) {
    try {
      const pair = await createPtyPair();
      ptys.push(pair);
      endpoint = { kind: 'serial', path: pair.a, serial };
      gatewayPath = pair.b;
      ptyMethod = pair.method;
      viaPty = true;
    } catch (error) {
      if (config.ptyFallback === false) throw error;
      logger.warn({ err: error }, `bus "${id}": no pseudo-terminal pair; serving RTU over TCP instead`);
      endpoint = { kind: 'rtu-over-tcp', port: 0, ...(config.host ? { host: config.host } : {}) };
    }
  } else if (config.path !== undefined) {
    endpoint = { kind: 'serial', path: config.path, serial };
    viaPty = config.path.startsWith('/dev/pts/');
  } else {
    const port = config.rtuOverTcpPort ?? 0;
    checkPort(port, `RTU-over-TCP port of bus "${id}"`);
    endpoint = { kind: 'rtu-over-tcp', port, ...(config.host ? { host: config.host } : {}) };
  }
  const turnaroundMs = config.turnaroundMs ?? DEFAULT_TURNAROUND_MS;
  if (!(turnaroundMs >= 0)) throw invalid(`turnaround ${turnaroundMs} ms of bus "${id}" is negative`);
  const paced = config.pacing ?? (viaPty || endpoint.kind === 'rtu-over-tcp');
  const pacing: RtuPacing | null = paced ? { serial, turnaroundMs } : null;
  const slave = new RtuSlave({ endpoint, devices, logger, ...(pacing ? { pacing } : {}) });
  await slave.start();
  return {
    id,
    kind: 'rtu',
    endpoint: endpoint.kind === 'rtu-over-tcp' ? 'rtu-over-tcp' : 'serial',
    address: slave.address,
    gatewayPath: gatewayPath ?? slave.address,
    port: endpoint.kind === 'rtu-over-tcp' ? slave.port : null,
    serial,
    pacing,
    ptyMethod,
    slave,
  };
}
