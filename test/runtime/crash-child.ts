/**
 * Child process for test/runtime/signals.test.ts: stopOnCrash and exitWith on the real process.
 * The first argument picks what goes wrong:
 *  - `throw`: an uncaught exception after start; the stop it triggers exits with 1;
 *  - `reject`: an unhandled rejection, the same way;
 *  - `main-rejects`: the main itself rejects, so exitWith prints the stack and exits 1;
 *  - `main-resolves`: the main resolves 7, so exitWith exits 7.
 */
import { exitWith, stopOnCrash } from '../../runtime/signals.js';

const mode = process.argv[2];
const logger = {
  fatal: (fields: Record<string, unknown>, message: string): void => {
    const err = fields['err'];
    process.stdout.write(`fatal ${message}: ${err instanceof Error ? err.message : String(err)}\n`);
  },
};

exitWith(
  new Promise<number>((resolve, reject) => {
    stopOnCrash(logger, (reason) => {
      process.stdout.write(`stop ${reason}\n`);
      resolve(1);
    });
    if (mode === 'throw')
      setImmediate(() => {
        throw new Error('a bug');
      });
    else if (mode === 'reject') void Promise.reject(new Error('a lost promise'));
    else if (mode === 'main-rejects') reject(new Error('could not start'));
    else resolve(7);
  }),
);
