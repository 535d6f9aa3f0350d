/**
 * runtime/signals.ts: the first stop signal stops; a repeat within the window is the same request
 * (logged, nothing else); a repeat after it forces, and says so. Signals come from an EventEmitter
 * and time from a clock moved by hand, so no test waits; one test sends real signals to a child.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_REPEAT_WINDOW_MS, onStopSignals, type StopSignal } from '../../runtime/signals.js';

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
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./stop-child.ts', import.meta.url))],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    const waiters = new Set<() => void>();
    const waitFor = (pattern: RegExp, on: () => string): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (!pattern.test(on())) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      for (const waiter of waiters) waiter();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      for (const waiter of waiters) waiter();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    await waitFor(/^ready$/m, () => stdout);
    child.kill('SIGINT');
    await waitFor(/^stop SIGINT$/m, () => stdout);
    // Sent only after the first was handled: two at once may merge into one pending signal.
    child.kill('SIGINT');
    await waitFor(/same stop request/, () => stderr);
    // Past the window on the child's clock: the next one is a person pressing again.
    child.stdin.write(`advance ${DEFAULT_REPEAT_WINDOW_MS + 1}\n`);
    await waitFor(/^advanced /m, () => stdout);
    child.kill('SIGINT');
    assert.equal(await exited, 1, `stdout:\n${stdout}\nstderr:\n${stderr}`);
    assert.equal(stdout.match(/^stop /gm)?.length, 1, stdout);
    assert.match(stderr, /forcing exit/);
    child.stdin.end();
  });
});
