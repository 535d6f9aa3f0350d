/**
 * A pair of connected pseudo-terminals: bytes written to one end come out of the other, through
 * the kernel's tty layer, so our serial code (serialport) runs exactly as on a real RS-485 adapter.
 * socat is preferred (it is the standard tool and the one the driver tests name); when it is not
 * installed, a small python3 relay (pty_relay.py) does the same; if neither works the caller
 * falls back to RTU framing over TCP and says so.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorClass, type ErrorCatalogue } from '../cloud-sync/contract/errors.js';

export interface PtyPair {
  /** Path of one end, e.g. /dev/pts/3 (give it to the simulator). */
  a: string;
  /** Path of the other end (give it to the gateway). */
  b: string;
  method: 'socat' | 'python3';
  close(): Promise<void>;
}

export const PTY_PAIR_ERRORS = {
  PTY_UNAVAILABLE: {
    means:
      'No pseudo-terminal pair could be made on this machine (no /dev/ptmx, neither socat nor python3 works).',
  },
} as const satisfies ErrorCatalogue<string>;

export type PtyPairErrorCode = keyof typeof PTY_PAIR_ERRORS;

export class PtyPairError extends errorClass('PtyPairError', PTY_PAIR_ERRORS) {}

function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Stops a helper: closing its stdin is the request (both helpers exit on EOF), SIGTERM the backstop.
 */
function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const backstop = setTimeout(() => child.kill('SIGTERM'), 1_000);
    child.once('exit', () => {
      clearTimeout(backstop);
      resolve();
    });
    child.stdin?.end();
  });
}

function waitForPaths(
  child: ChildProcess,
  stream: NodeJS.ReadableStream,
  parse: (text: string) => [string, string] | null,
): Promise<[string, string]> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => fail(new PtyPairError('PTY_UNAVAILABLE', 'timed out waiting for the pseudo-terminal pair')),
      5000,
    );
    const fail = (error: Error): void => {
      clearTimeout(timer);
      void stop(child);
      reject(error);
    };
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const paths = parse(text);
      if (paths) {
        clearTimeout(timer);
        resolve(paths);
      }
    });
    child.once('error', fail);
    child.once('exit', (code) =>
      fail(
        new PtyPairError(
          'PTY_UNAVAILABLE',
          `pseudo-terminal helper exited early with code ${String(code)}: ${text.trim()}`,
        ),
      ),
    );
  });
}

/**
 * socat does not notice when the process that started it dies, so it runs under a small shell
 * watchdog: when our end of its stdin pipe closes (close(), a normal exit, or kill -9 of this
 * process) `read` returns and the shell kills socat. No orphaned socat is ever left behind.
 */
const SOCAT_WATCHDOG =
  'socat -d -d pty,raw,echo=0 pty,raw,echo=0 & pid=$!; echo "socat pid $pid" >&2; read _eof; kill $pid 2>/dev/null; wait $pid';

async function viaSocat(): Promise<PtyPair> {
  const child = spawn('sh', ['-c', SOCAT_WATCHDOG], { stdio: ['pipe', 'ignore', 'pipe'] });
  let socatPid: number | undefined;
  const [a, b] = await waitForPaths(child, child.stderr as NodeJS.ReadableStream, (text) => {
    socatPid ??= Number(/socat pid (\d+)/.exec(text)?.[1]) || undefined;
    const found = [...text.matchAll(/PTY is (\S+)/g)].map((m) => m[1] ?? '');
    return found.length >= 2 && /starting data transfer loop/.test(text)
      ? [found[0] ?? '', found[1] ?? '']
      : null;
  });
  // close() ends socat itself, at once: on a loaded machine the watchdog shell may be scheduled
  // late, and a socat outliving close() keeps the pty open (a "vanished" device that never vanishes).
  const close = async (): Promise<void> => {
    if (socatPid !== undefined) {
      try {
        process.kill(socatPid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await stop(child);
  };
  return { a, b, method: 'socat', close };
}

async function viaPython(): Promise<PtyPair> {
  const script = fileURLToPath(new URL('./pty_relay.py', import.meta.url));
  // stdin stays a pipe: when this process dies the relay sees EOF and exits too.
  const child = spawn('python3', [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [a, b] = await waitForPaths(child, child.stdout as NodeJS.ReadableStream, (text) => {
    const line = text.split('\n').find((l) => l.startsWith('{'));
    if (!line) return null;
    const parsed = JSON.parse(line) as { a: string; b: string };
    return [parsed.a, parsed.b];
  });
  return { a, b, method: 'python3', close: () => stop(child) };
}

/**
 * Creates a pseudo-terminal pair. `prefer` forces one method (tests that must exercise socat).
 * Throws PtyPairError when no method works on this machine.
 */
export async function createPtyPair(prefer?: 'socat' | 'python3'): Promise<PtyPair> {
  if (!existsSync('/dev/ptmx')) throw new PtyPairError('PTY_UNAVAILABLE', 'this machine has no /dev/ptmx');
  const methods: Array<'socat' | 'python3'> = prefer ? [prefer] : ['socat', 'python3'];
  const failures: string[] = [];
  for (const method of methods) {
    if (!commandExists(method)) {
      failures.push(`${method} is not installed`);
      continue;
    }
    try {
      return method === 'socat' ? await viaSocat() : await viaPython();
    } catch (error) {
      failures.push(`${method}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new PtyPairError('PTY_UNAVAILABLE', `no pseudo-terminal pair could be made (${failures.join('; ')})`);
}
