/**
 * `npm run bench -- pacing`: how close to its deadline the simulators' wire-speed pacing
 * (simulators/pacing.ts) wakes. Moved here from test/simulators/pacing.test.ts (issue 11): on a
 * shared, loaded machine lateness is noise, so the test keeps only the lower bounds (never early)
 * and this benchmark reports the lateness, each against its reference in the same run:
 *
 *   sleepUntil() against a plain setTimeout to the same deadline (whole milliseconds: it wakes up
 *   to 1 ms early or late);
 *   a paced RTU-over-TCP reply (lateness after its wire time) against the same read unpaced.
 *
 * Options: --rounds 60 (sleeps, and reads per register count)
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { SerialSettings } from '../../drivers/transport/transport.js';
import { startSimulation } from '../../simulators/index.js';
import { rtuReplyDelayMs, sleepUntil } from '../../simulators/pacing.js';
import { parseIntegerOptions } from './options.js';
import { readTimes } from '../simulators/transport-helpers.js';

const LINE: SerialSettings = { baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1 };
const TURNAROUND_MS = 2;
const QUANTITIES = [1, 8, 32];
const GAS = 'gas-detector/anqi-gd300';

interface Options {
  rounds: number;
}

function parseOptions(args: string[]): Options {
  return parseIntegerOptions<Options>(args, { rounds: 60 }, { '--rounds': 'rounds' });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function summary(values: number[]): string {
  return `median ${median(values).toFixed(3)} ms, min ${Math.min(...values).toFixed(3)} ms, max ${Math.max(...values).toFixed(3)} ms`;
}

/** Lateness of `rounds` sleeps of 2 to 9.8 ms with `sleep` (the same deadlines for each sleeper). */
async function sleepLateness(rounds: number, sleep: (deadline: number) => Promise<void>): Promise<number[]> {
  const lateness: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const deadline = performance.now() + 2 + (i % 7) * 1.3;
    await sleep(deadline);
    lateness.push(performance.now() - deadline);
  }
  return lateness;
}

export async function main(args: string[]): Promise<void> {
  const { rounds } = parseOptions(args);

  const ours = await sleepLateness(rounds, sleepUntil);
  const reference = await sleepLateness(rounds, (deadline) =>
    delay(Math.max(0, deadline - performance.now())),
  );
  console.log(`sleepUntil lateness: ${summary(ours)}`);
  console.log(`setTimeout lateness: ${summary(reference)}`);

  const sim = await startSimulation({
    buses: [
      { id: 'paced', kind: 'rtu', rtuOverTcpPort: 0, serial: LINE, turnaroundMs: TURNAROUND_MS },
      { id: 'unpaced', kind: 'rtu', rtuOverTcpPort: 0, serial: LINE, pacing: false },
    ],
    devices: [
      { bus: 'paced', unitId: 1, profile: GAS },
      { bus: 'unpaced', unitId: 1, profile: GAS },
    ],
  });
  const pacedLate: number[] = [];
  const unpaced: number[] = [];
  try {
    for (const quantity of QUANTITIES) {
      const wire = rtuReplyDelayMs(8, 5 + 2 * quantity, { serial: LINE, turnaroundMs: TURNAROUND_MS });
      const late = (await readTimes(sim, 'paced', quantity, rounds)).map((t) => t - wire);
      const plain = await readTimes(sim, 'unpaced', quantity, rounds);
      pacedLate.push(...late);
      unpaced.push(...plain);
      console.log(
        `read of ${quantity}: wire ${wire.toFixed(2)} ms; paced lateness ${summary(late)}; unpaced ${summary(plain)}`,
      );
    }
  } finally {
    await sim.stop();
  }
  const early = pacedLate.filter((late) => late < 0).length + ours.filter((late) => late < 0).length;
  console.log(
    `RESULT pacing sleep_median_ms=${median(ours).toFixed(3)} settimeout_median_ms=${median(reference).toFixed(3)} ` +
      `paced_late_median_ms=${median(pacedLate).toFixed(3)} paced_late_max_ms=${Math.max(...pacedLate).toFixed(3)} ` +
      `unpaced_median_ms=${median(unpaced).toFixed(3)} early=${early}`,
  );
}
