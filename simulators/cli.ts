/**
 * `npm run sim -- ...`: run simulated Modbus devices for a gateway (or mbpoll, or a person) to talk to.
 *
 *   npm run sim -- --list
 *   npm run sim -- --profile gas-detector/anqi-gd300 --unit 1 --pty --scenario gas-leak
 *   npm run sim -- --profile gas-detector/anqi-gd300 --unit 1 --rtu /dev/pts/3 --baud 9600 --parity even
 *   npm run sim -- --profile manhole-cover/anjing-mc200 --unit 1-3 --tcp 1502 --fault no-answer:0.1
 *   npm run sim -- --config sim.json
 *
 * Exit codes: 0 after Ctrl-C / SIGTERM, 2 for a bad argument or config, 1 for anything else
 * (including a second Ctrl-C more than 2 s after the first, which skips the clean stop).
 * Logs (pino) go to stderr; the addresses to connect to go to stdout. The --config file format is
 * summarised in --help and documented in full in docs/simulators.md.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { pino, type Logger } from 'pino';
import { ProfileError } from '../gateway/profiles/loader.js';
import { parseSimulationFile } from './config.js';
import { SimulatorError } from './errors.js';
import { FAULT_MODES, formatFault, parseFault } from './faults.js';
import { DEFAULT_TURNAROUND_MS } from './pacing.js';
import {
  DEFAULT_SERIAL,
  ProfileCatalogue,
  startSimulation,
  type BusConfig,
  type DeviceConfig,
  type Simulation,
} from './index.js';
import { listScenarios } from './scenarios/index.js';
import { parsePlan } from './scenarios/plan.js';
import { exitWith, onStopSignals } from '../runtime/signals.js';

interface CliOptions {
  list?: boolean;
  config?: string;
  profile?: string;
  unit: number[];
  rtu?: string;
  pty?: boolean;
  rtuOverTcp?: number;
  tcp?: number;
  host: string;
  baud: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
  pacing: 'auto' | 'on' | 'off';
  turnaround: number;
  scenario: string;
  fault?: string;
  seed?: number;
  profiles?: string;
  logLevel: string;
  logFormat?: 'pretty' | 'json';
}

function usageError(message: string): SimulatorError {
  return new SimulatorError('SIM_CONFIG_INVALID', message);
}

function integerIn(lo: number, hi: number, what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < lo || n > hi)
      throw new InvalidArgumentError(`${what} must be an integer in ${lo}..${hi}.`);
    return n;
  };
}

/**
 * The --config format where a user looks first (--help); docs/simulators.md has every field.
 * test/simulators/cli.test.ts parses this example, so it cannot drift from the parser.
 */
export const CONFIG_FILE_HELP = `
Config file (--config sim.json): several buses and devices at once. Full reference, with a
matching gateway configuration: docs/simulators.md.
  {
    "buses": [
      { "id": "line1", "kind": "rtu", "pty": true, "serial": { "baudRate": 9600, "parity": "even" } },
      { "id": "lan", "kind": "tcp", "port": 1502 }
    ],
    "devices": [
      { "bus": "line1", "unitId": 1, "profile": "gas-detector/anqi-gd300", "scenario": "gas-leak" },
      { "bus": "line1", "unitId": 2, "profile": "manhole-cover/anjing-mc200", "fault": "no-answer:0.1" },
      { "bus": "lan", "unitId": 1, "profile": "bridge-strain/qiaoce-vw8", "scenario": "bridge-traffic" }
    ]
  }
  bus     "kind": "rtu" with exactly one of "pty": true, "path": "<serial port>" or
          "rtuOverTcpPort": <port>; optional "id", "serial" {baudRate, dataBits, parity,
          stopBits}, "pacing", "turnaroundMs", "host", "ptyFallback".
          "kind": "tcp" with "port" (0: any free port); optional "id", "host".
  device  "bus" (a bus id, or its index), "unitId", "profile" (as --profile); optional
          "scenario" and "fault" (as --scenario and --fault), "seed".

Exit codes: 0 after Ctrl-C / SIGTERM, 2 bad argument or config, 1 anything else.
`;

/** "1", "1,2,5-7" -> [1, 2, 5, 6, 7]. */
export function parseUnitList(value: string): number[] {
  const units: number[] = [];
  for (const part of value.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const from = Number(m?.[1]);
    const to = m?.[2] === undefined ? from : Number(m[2]);
    if (!m || !(from >= 1 && to <= 255 && from <= to))
      throw new InvalidArgumentError(`"${part}" is not a unit id or range in 1..255 (e.g. 1,2,5-7).`);
    for (let u = from; u <= to; u++) units.push(u);
  }
  return units;
}

function buildProgram(): Command {
  return new Command('sim')
    .description(
      'Simulated Modbus devices (RTU on a serial line or pty, RTU over TCP, Modbus TCP) built from the device profiles.',
    )
    .option('--list', 'list profiles, scenarios and fault modes, then exit')
    .option('--config <file>', 'JSON file with buses and devices (format below; docs/simulators.md)')
    .option(
      '--profile <ref>',
      'device profile: family/id (e.g. gas-detector/anqi-gd300), id, or a .json path',
    )
    .option('--unit <ids>', 'unit id(s) for --profile: 1 or 1,2,5-7', parseUnitList, [1])
    .option('--rtu <path>', 'serve Modbus RTU on this serial port or pty end')
    .option('--pty', 'make a pseudo-terminal pair, serve one end and print the other for the gateway')
    .option('--rtu-over-tcp <port>', 'serve raw RTU frames on this TCP port', integerIn(0, 65535, 'port'))
    .option('--tcp <port>', 'serve Modbus TCP (MBAP) on this port', integerIn(0, 65535, 'port'))
    .option('--host <address>', 'address TCP servers listen on', '127.0.0.1')
    .option(
      '--baud <rate>',
      'serial baud rate',
      integerIn(300, 4_000_000, 'baud rate'),
      DEFAULT_SERIAL.baudRate,
    )
    .addOption(
      new Option('--parity <parity>', 'serial parity')
        .choices(['none', 'even', 'odd'])
        .default(DEFAULT_SERIAL.parity),
    )
    .option(
      '--data-bits <n>',
      'serial data bits (7 or 8)',
      integerIn(7, 8, 'data bits'),
      DEFAULT_SERIAL.dataBits,
    )
    .option(
      '--stop-bits <n>',
      'serial stop bits (1 or 2)',
      integerIn(1, 2, 'stop bits'),
      DEFAULT_SERIAL.stopBits,
    )
    .addOption(
      new Option(
        '--pacing <mode>',
        'hold RTU replies until their wire time (auto: on for ptys and RTU over TCP)',
      )
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    )
    .option(
      '--turnaround <ms>',
      'slave turnaround added to paced replies',
      (v) => {
        const n = Number(v);
        if (!(n >= 0)) throw new InvalidArgumentError('turnaround must be a number of ms >= 0.');
        return n;
      },
      DEFAULT_TURNAROUND_MS,
    )
    .option(
      '--scenario <plan>',
      'scenario plan, e.g. gas-leak or normal@30,gas-leak,loop (see --list)',
      'normal',
    )
    .option(
      '--fault <spec>',
      `fault: mode[:probability|always][:delay=ms|code=n|unit=n]; modes: ${FAULT_MODES.join(', ')}`,
    )
    .option('--seed <n>', 'seed for noise and traffic', integerIn(0, 0xffffffff, 'seed'))
    .option('--profiles <dir>', "device profile directory (default: the repository's device-profiles/)")
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'log format (default: pretty on a terminal)').choices([
        'pretty',
        'json',
      ]),
    )
    .addHelpText('after', CONFIG_FILE_HELP)
    .exitOverride();
}

function createLogger(options: CliOptions): Logger {
  const pretty = (options.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json')) === 'pretty';
  if (pretty) {
    try {
      import.meta.resolve('pino-pretty'); // a devDependency: absent in a production install
      return pino({
        level: options.logLevel,
        transport: {
          target: 'pino-pretty',
          options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
        },
      });
    } catch {
      // fall through to JSON
    }
  }
  return pino({ level: options.logLevel }, pino.destination(2));
}

function printList(catalogue: ProfileCatalogue): void {
  const profiles = [...catalogue.all().values()].sort((a, b) =>
    `${a.family}/${a.id}`.localeCompare(`${b.family}/${b.id}`),
  );
  console.log('Profiles (--profile):');
  for (const p of profiles) console.log(`  ${p.family}/${p.id}  ${p.name.en} (${p.points.length} points)`);
  console.log(
    '\nScenarios (--scenario; combine with +, sequence with name@seconds and commas, repeat with ,loop):',
  );
  let family = '';
  for (const s of listScenarios()) {
    if (s.family !== family) console.log(`  ${(family = s.family)}:`);
    console.log(`    ${s.name}${s.durationS === null ? '' : ` (${s.durationS} s)`}: ${s.description}`);
    for (const [key, meaning] of Object.entries(s.options)) console.log(`        :${key}=...  ${meaning}`);
  }
  console.log(
    `\nFault modes (--fault mode[:probability|always][:delay=ms|code=n|unit=n]): ${FAULT_MODES.join(', ')}`,
  );
}

/** Turns the single-device options into a config, checking they make sense together. */
function configFromOptions(o: CliOptions): { buses: BusConfig[]; devices: DeviceConfig[] } {
  if (!o.profile)
    throw usageError(
      'give --profile (with one of --rtu, --pty, --rtu-over-tcp, --tcp), or --config, or --list',
    );
  const chosen = [
    o.rtu !== undefined,
    o.pty === true,
    o.rtuOverTcp !== undefined,
    o.tcp !== undefined,
  ].filter(Boolean).length;
  if (chosen !== 1)
    throw usageError('give exactly one of --rtu <path>, --pty, --rtu-over-tcp <port>, --tcp <port>');
  parsePlan(o.scenario); // syntax errors now, before anything opens
  if (o.fault) parseFault(o.fault);
  const bus: BusConfig =
    o.tcp !== undefined
      ? { id: 'tcp', kind: 'tcp', port: o.tcp, host: o.host }
      : {
          id: 'rtu',
          kind: 'rtu',
          host: o.host,
          serial: { baudRate: o.baud, parity: o.parity, dataBits: o.dataBits, stopBits: o.stopBits },
          turnaroundMs: o.turnaround,
          ...(o.pacing === 'auto' ? {} : { pacing: o.pacing === 'on' }),
          ...(o.rtu !== undefined
            ? { path: o.rtu }
            : o.pty
              ? { pty: true }
              : { rtuOverTcpPort: o.rtuOverTcp ?? 0 }),
        };
  const devices = o.unit.map((unitId, i): DeviceConfig => ({
    bus: bus.id ?? 0,
    unitId,
    profile: o.profile ?? '',
    scenario: o.scenario,
    ...(o.fault ? { fault: o.fault } : {}),
    ...(o.seed === undefined ? {} : { seed: o.seed + i }),
  }));
  return { buses: [bus], devices };
}

function describeSerial(sim: Simulation['buses'][number]): string {
  const s = sim.serial;
  if (!s) return '';
  const parity = s.parity === 'none' ? 'N' : s.parity === 'even' ? 'E' : 'O';
  const pacing = sim.pacing
    ? `paced, turnaround ${sim.pacing.turnaroundMs ?? DEFAULT_TURNAROUND_MS} ms`
    : 'not paced';
  return `${s.baudRate} ${s.dataBits}${parity}${s.stopBits}, ${pacing}`;
}

function printReady(sim: Simulation): void {
  console.log('simulator ready');
  for (const bus of sim.buses) {
    const what =
      bus.kind === 'tcp'
        ? 'Modbus TCP'
        : bus.endpoint === 'rtu-over-tcp'
          ? 'Modbus RTU over TCP'
          : 'Modbus RTU';
    const via = bus.ptyMethod ? ` (pty pair via ${bus.ptyMethod}; simulator holds ${bus.address})` : '';
    console.log(`  bus ${bus.id}: ${what} ${describeSerial(bus)}`);
    console.log(`    gateway connects to: ${bus.gatewayPath}${via}`);
    for (const d of sim.devices.filter((h) => h.bus === bus)) {
      console.log(
        `    unit ${d.unitId}: ${d.profile.family}/${d.profile.id}  scenario ${d.device.scenario}  fault ${formatFault(d.device.faults.current)}`,
      );
    }
  }
}

/** Runs the CLI; resolves with the process exit code once the simulation has stopped. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const ok =
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help';
      return ok ? 0 : 2;
    }
    throw error;
  }
  const options = program.opts<CliOptions>();
  let logger: Logger | undefined;
  try {
    const catalogue = new ProfileCatalogue(options.profiles);
    if (options.list) {
      printList(catalogue);
      return 0;
    }
    let config: { buses: BusConfig[]; devices: DeviceConfig[] };
    if (options.config) {
      if (options.profile) throw usageError('--config and --profile cannot be combined');
      let text: string;
      try {
        text = readFileSync(options.config, 'utf8');
      } catch (error) {
        throw usageError(
          `cannot read ${options.config}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      config = parseSimulationFile(text, options.config);
    } else {
      config = configFromOptions(options);
    }
    const log = createLogger(options);
    logger = log;
    const sim = await startSimulation({
      ...config,
      logger: log,
      ...(options.profiles ? { profileDirectory: options.profiles } : {}),
    });
    printReady(sim);
    // A doubled Ctrl-C (terminal and npm) is one request; a late repeat exits 1 at once.
    let stopListening = (): void => undefined;
    await new Promise<void>((resolve) => {
      stopListening = onStopSignals({
        logger: log,
        onStop: (signal) => {
          log.info({ signal }, 'stopping');
          resolve();
        },
      });
    });
    try {
      await sim.stop();
    } finally {
      stopListening();
    }
    return 0;
  } catch (error) {
    if (error instanceof SimulatorError || error instanceof ProfileError) {
      console.error(`sim: ${error.message}`);
      return 2;
    }
    console.error('sim: failed:', error);
    return 1;
  } finally {
    logger?.flush();
  }
}

// Run only when executed, not when imported by a test.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  exitWith(main(process.argv.slice(2)));
}
