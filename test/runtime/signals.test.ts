/**
 * runtime/signals.ts: the first stop signal stops; a repeat within the window is the same request
 * (logged, nothing else); a repeat after it forces, and says so. Signals come from an EventEmitter
 * and time from a clock moved by hand, so no test waits; one test sends real signals to a child.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_REPEAT_WINDOW_MS, onStopSignals, type StopSignal } from '../../runtime/signals.js';
import { runTsx, spawnTsx } from '../helpers/process.js';

interface Logged {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

function harness(windowMs?: number) {
  const source = new EventEmitter();
  let clock = 1_000;
  const stops: StopSignal[] = [];
  const forces: Array<{ signal: StopSignal; sinceFirstMs: number }> = [];
  const logged: Logged[] = [];
  const dispose = onStopSignals({
    source,
    now: () => clock,
    ...(windowMs === undefined ? {} : { windowMs }),
    logger: {
      info: (fields, message) => logged.push({ level: 'info', fields, message }),
      warn: (fields, message) => logged.push({ level: 'warn', fields, message }),
    },
    onStop: (signal) => stops.push(signal),
    onForce: (signal, sinceFirstMs) => forces.push({ signal, sinceFirstMs }),
  });
  return {
    source,
    stops,
    forces,
    logged,
    dispose,
    advance: (ms: number) => (clock += ms),
  };
}

describe('onStopSignals', () => {
  it('stops on the first SIGINT or SIGTERM, once, without logging anything itself', () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const h = harness();
      h.source.emit(signal);
      assert.deepEqual(h.stops, [signal]);
      assert.deepEqual(h.forces, []);
      assert.deepEqual(h.logged, []);
    }
  });

  it('takes repeats within the window (of either signal) as the same request', () => {
    const h = harness();
    h.source.emit('SIGINT');
    h.source.emit('SIGINT'); // the forwarded copy, at once
    h.advance(DEFAULT_REPEAT_WINDOW_MS);
    h.source.emit('SIGTERM'); // exactly at the window's end still counts
    assert.deepEqual(h.stops, ['SIGINT']);
    assert.deepEqual(h.forces, []);
    assert.deepEqual(
      h.logged.map((l) => [l.level, l.fields['signal'], l.fields['sinceFirstMs']]),
      [
        ['info', 'SIGINT', 0],
        ['info', 'SIGTERM', DEFAULT_REPEAT_WINDOW_MS],
      ],
    );
    assert.match(h.logged[0]?.message ?? '', /same stop request/);
  });

  it('forces on a repeat after the window, every time, and says so in the log', () => {
    const h = harness(500);
    h.source.emit('SIGTERM');
    h.advance(200);
    h.source.emit('SIGINT');
    h.advance(301);
    h.source.emit('SIGINT');
    h.advance(1_000);
    h.source.emit('SIGINT');
    assert.deepEqual(h.stops, ['SIGTERM']);
    assert.deepEqual(h.forces, [
      { signal: 'SIGINT', sinceFirstMs: 501 },
      { signal: 'SIGINT', sinceFirstMs: 1_501 },
    ]);
    const warnings = h.logged.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]?.message ?? '', /forcing exit/);
  });

  it('removes its listeners when disposed', () => {
    const h = harness();
    assert.equal(h.source.listenerCount('SIGINT'), 1);
    assert.equal(h.source.listenerCount('SIGTERM'), 1);
    h.dispose();
    assert.equal(h.source.listenerCount('SIGINT'), 0);
    assert.equal(h.source.listenerCount('SIGTERM'), 0);
    h.source.emit('SIGINT');
    assert.deepEqual(h.stops, []);
  });

  it('listens on the real process: a doubled SIGINT stops once, a late one forces exit 1', async () => {
    const child = spawnTsx('stop-child', fileURLToPath(new URL('./stop-child.ts', import.meta.url)), [], {
      stdin: 'pipe',
    });
    await child.waitForOutput(/^ready$/m, { stream: 'stdout' });
    child.proc.kill('SIGINT');
    await child.waitForOutput(/^stop SIGINT$/m, { stream: 'stdout' });
    // Sent only after the first was handled: two at once may merge into one pending signal.
    child.proc.kill('SIGINT');
    await child.waitForOutput(/same stop request/, { stream: 'stderr' });
    // Past the window on the child's clock: the next one is a person pressing again.
    child.send(`advance ${DEFAULT_REPEAT_WINDOW_MS + 1}`);
    await child.waitForOutput(/^advanced /m, { stream: 'stdout' });
    const { code } = await child.signal('SIGINT');
    assert.equal(code, 1, `stdout:\n${child.stdout}\nstderr:\n${child.stderr}`);
    assert.equal(child.stdout.match(/^stop /gm)?.length, 1, child.stdout);
    assert.match(child.stderr, /forcing exit/);
    child.proc.stdin?.end();
  });
});

describe('stopOnCrash and exitWith', () => {
  const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

  it('an uncaught exception is logged at fatal and stops the service through its stop, exit 1', async () => {
    const result = await runTsx(child, ['throw']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^fatal uncaught exception: a bug$/m);
    assert.match(result.stdout, /^stop uncaughtException$/m);
  });

  it('an unhandled rejection, the same way', async () => {
    const result = await runTsx(child, ['reject']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^fatal unhandled promise rejection: a lost promise$/m);
    assert.match(result.stdout, /^stop unhandledRejection$/m);
  });

  it('exits with the code the main resolves to, or 1 with the stack when it rejects', async () => {
    assert.equal((await runTsx(child, ['main-resolves'])).code, 7);
    const failed = await runTsx(child, ['main-rejects']);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^fatal: Error: could not start\n\s+at /m);
  });
});
