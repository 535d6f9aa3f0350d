/**
 * Soak of the uplink under kill -9: the crash loop of test/integration/crash-loop.test.ts (a gateway
 * process and a cloud process, SIGKILLed at random moments in turn and restarted), for many rounds
 * or a wall-clock duration, then drain and the invariant check. Prints progress, the invariant
 * report as JSON, and exits 0 when nothing was lost or duplicated, 1 otherwise, 2 for bad arguments.
 *
 *   tsx test/soak/uplink-soak.ts [--rounds 30] [--duration 600] [--run-ms 300-2000]
 *                                [--down-ms 0-1500] [--quota 150] [--iterations 1] [--keep]
 *
 * --duration (seconds) overrides --rounds; --iterations repeats the whole loop on fresh databases;
 * --keep leaves the temp dirs (databases, for a post-mortem) and prints where they are.
 */
import { parseArgs } from 'node:util';
import { describeReport } from '../integration/invariants.js';
import { runCrashLoop, tempRoot, type CrashLoopResult } from '../integration/crash-harness.js';

function range(text: string, name: string): [number, number] {
  const match = /^(\d+)-(\d+)$/.exec(text);
  if (match === null || Number(match[1]) > Number(match[2])) {
    throw new Error(`--${name} must be <min>-<max> in ms, got ${text}`);
  }
  return [Number(match[1]), Number(match[2])];
}

function positive(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return n;
}

async function main(): Promise<number> {
  let options;
  try {
    const { values } = parseArgs({
      options: {
        rounds: { type: 'string', default: '30' },
        duration: { type: 'string' },
        'run-ms': { type: 'string', default: '300-2000' },
        'down-ms': { type: 'string', default: '0-1500' },
        quota: { type: 'string', default: '150' },
        iterations: { type: 'string', default: '1' },
        keep: { type: 'boolean', default: false },
      },
    });
    options = {
      rounds: positive(values.rounds, 'rounds'),
      durationMs: values.duration === undefined ? undefined : positive(values.duration, 'duration') * 1000,
      runMs: range(values['run-ms'], 'run-ms'),
      downMs: range(values['down-ms'], 'down-ms'),
      telemetryQuota: positive(values.quota, 'quota'),
      iterations: positive(values.iterations, 'iterations'),
      keep: values.keep,
    };
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }

  let failed = 0;
  for (let iteration = 1; iteration <= options.iterations; iteration++) {
    const dirs = tempRoot('kerbside-uplink-soak-');
    const started = Date.now();
    const log = (line: string): void => {
      const s = ((Date.now() - started) / 1000).toFixed(1).padStart(7);
      process.stdout.write(`[${iteration}/${options.iterations} ${s}s] ${line}\n`);
    };
    let result: CrashLoopResult;
    try {
      result = await runCrashLoop(dirs.root, {
        rounds: options.rounds,
        ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
        runMs: options.runMs,
        downMs: options.downMs,
        telemetryQuota: options.telemetryQuota,
        log,
      });
    } catch (error) {
      log(`run failed: ${error instanceof Error ? error.message : String(error)}`);
      failed++;
      if (options.keep) log(`kept ${dirs.root}`);
      else dirs.cleanup();
      continue;
    }
    const { report } = result;
    const ok =
      report.lost.length === 0 &&
      report.duplicates.length === 0 &&
      report.pending.length === 0 &&
      report.streamViolations.length === 0 &&
      report.counts.alarmTransitionsInCloudOnce === report.counts.alarmTransitions;
    if (!ok) failed++;
    log(describeReport(report, 20));
    process.stdout.write(
      `${JSON.stringify({
        iteration,
        ok,
        seconds: Math.round((Date.now() - started) / 1000),
        kills: result.kills,
        drainMs: result.drainMs,
        lost: report.lost.length,
        duplicates: report.duplicates.length,
        pending: report.pending.length,
        streamViolations: report.streamViolations.length,
        counts: report.counts,
      })}\n`,
    );
    if (options.keep || !ok) log(`databases kept in ${dirs.root}`);
    else dirs.cleanup();
  }
  process.stdout.write(failed === 0 ? 'SOAK OK\n' : `SOAK FAILED (${failed} of ${options.iterations})\n`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
