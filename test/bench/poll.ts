/**
 * `npm run bench -- poll`: the reference RS-485 bus of the field-bus issue. 32 devices with 20
 * scattered points each in 3 blocks, 9600 baud 8E1, simulators paced at wire speed on a
 * pseudo-terminal pair. Measures the poll cycle time of our coalescing scheduler and, in the same
 * run, of a one-request-per-point schedule, and compares with the wire minimum of the transactions
 * we issued: sum over requests of (20 + 2N) x 11 / baud plus the turnaround.
 *
 * Options: --devices 32 --baud 9600 --cycles 3 --turnaround 2
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { characterTimeMs, type SerialSettings } from '../../drivers/transport/transport.js';
import { BusScheduler } from '../../gateway/bus/scheduler.js';
import type { ReadRequestPlan } from '../../gateway/bus/read-planner.js';
import { rtuReadCharacters } from '../../gateway/bus/wire-cost.js';
import type { BusDeviceConfig, DevicePollResult } from '../../gateway/bus/types.js';
import { loadProfileFile } from '../../gateway/profiles/loader.js';
import { startSimulation } from '../../simulators/index.js';

interface Options {
  devices: number;
  baud: number;
  cycles: number;
  turnaroundMs: number;
}

function parseOptions(args: string[]): Options {
  const options: Options = { devices: 32, baud: 9600, cycles: 3, turnaroundMs: 2 };
  for (let i = 0; i < args.length; i += 2) {
    const value = Number(args[i + 1]);
    if (!Number.isFinite(value) || value <= 0)
      throw new RangeError(`option ${args[i]} needs a positive number`);
    if (args[i] === '--devices') options.devices = value;
    else if (args[i] === '--baud') options.baud = value;
    else if (args[i] === '--cycles') options.cycles = value;
    else if (args[i] === '--turnaround') options.turnaroundMs = value;
    else throw new RangeError(`unknown option ${args[i]}`);
  }
  return options;
}

/** Wire minimum of one poll of every device: (20 + 2N) characters per request plus turnaround. */
function wireMinimumMs(
  plans: Map<string, ReadRequestPlan[]>,
  serial: SerialSettings,
  turnaroundMs: number,
): number {
  const charMs = characterTimeMs(serial);
  let total = 0;
  for (const plan of plans.values()) {
    for (const request of plan)
      total += rtuReadCharacters(request.table, request.quantity) * charMs + turnaroundMs;
  }
  return total;
}

interface CycleMeasurement {
  cycleMs: number;
  wireMinMs: number;
  requestsPerCycle: number;
  utilisation: number;
  meanRttMs: number | null;
}

async function measure(
  path: string,
  serial: SerialSettings,
  devices: BusDeviceConfig[],
  coalesce: boolean,
  cycles: number,
  turnaroundMs: number,
): Promise<CycleMeasurement> {
  const logger = pino({ level: 'warn' });
  const bus = new BusScheduler({
    config: { id: 'bench', kind: 'rtu', path, serial },
    devices,
    logger,
    coalesce,
    turnaroundMs,
  });
  // Warm-up: a quarter of the devices, so the line is in its steady state when timing starts.
  const warmup = Math.max(1, Math.floor(devices.length / 4));
  const measured = cycles * devices.length;
  let polls = 0;
  let startedAt = 0;
  const failures: DevicePollResult[] = [];
  const done = new Promise<number>((resolve) => {
    bus.onPoll((result) => {
      if (result.quality !== 'good') failures.push(result);
      polls++;
      if (polls === warmup) startedAt = performance.now();
      if (polls === warmup + measured) resolve(performance.now());
    });
  });
  await bus.start();
  const finishedAt = await done;
  const counters = bus.counters();
  const plans = bus.plans();
  await bus.stop();
  if (failures.length > 0) {
    throw new Error(
      `${failures.length} polls failed during the benchmark, e.g. ${JSON.stringify(failures[0]?.errors)}`,
    );
  }
  return {
    cycleMs: (finishedAt - startedAt) / cycles,
    wireMinMs: wireMinimumMs(plans, serial, turnaroundMs),
    requestsPerCycle: [...plans.values()].reduce((n, p) => n + p.length, 0),
    utilisation: counters.utilisation,
    meanRttMs: counters.meanRttMs,
  };
}

export async function main(args: string[]): Promise<void> {
  const options = parseOptions(args);
  const serial: SerialSettings = { baudRate: options.baud, dataBits: 8, parity: 'even', stopBits: 1 };
  const profileFile = fileURLToPath(new URL('./fixtures/reference-device.json', import.meta.url));
  const profile = loadProfileFile(profileFile, { checkLayout: false });
  const unitIds = Array.from({ length: options.devices }, (_, i) => i + 1);
  const sim = await startSimulation({
    buses: [
      { id: 'bench', kind: 'rtu', pty: true, serial, turnaroundMs: options.turnaroundMs, ptyFallback: false },
    ],
    devices: unitIds.map((unitId) => ({ bus: 'bench', unitId, profile })),
  });
  try {
    const bus = sim.bus('bench');
    const devices: BusDeviceConfig[] = unitIds.map((unitId) => ({
      id: `dev${unitId}`,
      unitId,
      profile,
      pollIntervalMs: 50, // shorter than a cycle: every device is always due, the line never idles
      timeoutMs: 1_000,
      retries: 0,
    }));
    console.log(
      `reference bus: ${options.devices} devices x ${profile.points.length} points, ${options.baud} baud 8E1, ` +
        `turnaround ${options.turnaroundMs} ms, pty via ${bus.ptyMethod ?? 'none'}`,
    );
    const ours = await measure(bus.gatewayPath, serial, devices, true, options.cycles, options.turnaroundMs);
    console.log(
      `coalesced: ${ours.requestsPerCycle} requests/cycle, cycle ${ours.cycleMs.toFixed(1)} ms, wire minimum ` +
        `${ours.wireMinMs.toFixed(1)} ms, utilisation ${(ours.utilisation * 100).toFixed(1)} %, mean rtt ${ours.meanRttMs?.toFixed(2)} ms`,
    );
    const perPoint = await measure(bus.gatewayPath, serial, devices, false, 1, options.turnaroundMs);
    console.log(
      `per point: ${perPoint.requestsPerCycle} requests/cycle, cycle ${perPoint.cycleMs.toFixed(1)} ms, wire minimum ` +
        `${perPoint.wireMinMs.toFixed(1)} ms`,
    );
    const ratio = ours.cycleMs / ours.wireMinMs;
    const gain = perPoint.cycleMs / ours.cycleMs;
    console.log(
      `RESULT poll cycle_ms=${ours.cycleMs.toFixed(1)} wire_min_ms=${ours.wireMinMs.toFixed(1)} ratio=${ratio.toFixed(3)} ` +
        `per_point_ms=${perPoint.cycleMs.toFixed(1)} coalescing_gain=${gain.toFixed(2)}`,
    );
  } finally {
    await sim.stop();
  }
}
