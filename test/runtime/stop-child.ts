/**
 * Child process for test/runtime/signals.test.ts: onStopSignals on the real process, with the
 * default window and the default force (exit 1). Its clock moves only when the test writes
 * "advance <ms>" on stdin, so whether a repeat is late never depends on how fast the machine is.
 */
import { createInterface } from 'node:readline';
import { onStopSignals } from '../../runtime/signals.js';

let offsetMs = 0;
createInterface({ input: process.stdin }).on('line', (line) => {
  const match = /^advance (\d+)$/.exec(line);
  if (match === null) return;
  offsetMs += Number(match[1]);
  process.stdout.write(`advanced ${offsetMs}\n`);
});
onStopSignals({
  now: () => performance.now() + offsetMs,
  // A stop that never finishes, so only the force can end this process.
  onStop: (signal) => process.stdout.write(`stop ${signal}\n`),
});
process.stdout.write('ready\n');
