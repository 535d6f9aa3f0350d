/**
 * Processes in tests (issue 11): the one place that starts a program, ours under tsx (the gateway,
 * the cloud service, the CLIs, the child programs of the crash tests) or a peer (mosquitto_pub,
 * mbpoll ...), and collects its output and its exit. Importing this makes a test an integration
 * test (test/tiers.ts).
 *
 * Two shapes: `run` / `runTsx` run a program to its end and resolve with what it printed; `spawnProcess`
 * / `spawnTsx` start one that keeps running and hand back a `Child` to wait on (a line, a pattern,
 * the exit), talk to (stdin) and stop.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

/** The repository root: the working directory of our programs unless a test says otherwise. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** tsx by absolute URL, for programs started with a working directory outside the repository. */
const TSX_URL = import.meta.resolve('tsx');

export interface ProcessOptions {
  /** Working directory (default: the repository root). */
  cwd?: string;
  /** Variables set on top of this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Variables of this process's environment the child must not inherit (DATABASE_URL ...). */
  unset?: readonly string[];
}

/** This process's environment without `unset`, plus `env`. */
export function childEnv(options: Pick<ProcessOptions, 'env' | 'unset'> = {}): NodeJS.ProcessEnv {
  const unset = new Set(options.unset ?? []);
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !unset.has(name)));
  return { ...inherited, ...options.env };
}

/** `node --import tsx <file> ...args`; paths stay relative (as `ps` shows them) when run from the repository. */
function tsxArgv(file: string, args: readonly string[], cwd: string): string[] {
  return resolve(cwd) === resolve(REPO)
    ? ['--import', 'tsx', file, ...args]
    : ['--import', TSX_URL, isAbsolute(file) ? file : join(REPO, file), ...args];
}

// --- to its end ---------------------------------------------------------------------------------

export interface RunResult {
  /** The exit code; null when a signal or the timeout ended it, or it could not start. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to its end and resolves with its exit code and output; never rejects. Always
 * asynchronous: a broker or server living in this process must go on answering it.
 */
export function run(
  command: string,
  args: readonly string[],
  options: ProcessOptions & { timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolveRun) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd ?? REPO,
        env: childEnv(options),
        timeout: options.timeoutMs ?? 10_000,
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolveRun({ code, stdout, stderr });
      },
    );
  });
}

/** Runs a TypeScript program of this repository (`file` relative to the root) to its end. */
export function runTsx(
  file: string,
  args: readonly string[],
  options: ProcessOptions & { timeoutMs?: number } = {},
): Promise<RunResult> {
  return run(process.execPath, tsxArgv(file, args, options.cwd ?? REPO), {
    timeoutMs: 30_000,
    ...options,
  });
}

// --- running ------------------------------------------------------------------------------------

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A started process: its stdout (whole lines in `lines`, the text in `stdout`), its stderr, both
 * interleaved in `output`, and its exit.
 */
export class Child {
  readonly lines: string[] = [];
  stdout = '';
  stderr = '';
  output = '';
  readonly exited: Promise<Exit>;
  private buffered = '';
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    onLine?: (line: string) => void,
  ) {
    proc.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.stdout += text;
      this.output += text;
      this.buffered += text;
      const lines = this.buffered.split('\n');
      // Only whole lines count: a line cut by a SIGKILL is not a report.
      this.buffered = lines.pop() ?? '';
      for (const line of lines) {
        this.lines.push(line);
        onLine?.(line);
      }
      this.notify();
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.stderr += text;
      this.output += text;
      // A crash loop runs for minutes: keep the end of stderr, which is what a failure shows.
      if (this.stderr.length > 200_000) this.stderr = this.stderr.slice(-100_000);
      this.notify();
    });
    this.exited = new Promise((resolveExit) =>
      proc.on('exit', (code, signal) => {
        resolveExit({ code, signal });
        this.notify();
      }),
    );
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /**
   * Resolves with the first match of `pattern` in the stream (default stdout and stderr
   * interleaved), as soon as the text arrives; fails once `timeoutMs` have passed or when the
   * process exits without it.
   */
  waitForOutput(
    pattern: RegExp,
    options: { stream?: 'stdout' | 'stderr' | 'output'; timeoutMs?: number } = {},
  ): Promise<RegExpExecArray> {
    const stream = options.stream ?? 'output';
    const timeoutMs = options.timeoutMs ?? 15_000;
    return new Promise((resolveWait, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const check = (): void => {
        const match = pattern.exec(this[stream]);
        if (match !== null) {
          done();
          resolveWait(match);
        } else if (!this.alive) {
          done();
          reject(
            new Error(`${this.name} exited before printing ${String(pattern)}:\n${this.output.slice(-3000)}`),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `${this.name}: no ${String(pattern)} within ${timeoutMs} ms:\n${this.output.slice(-3000)}`,
          ),
        );
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** Waits for a stdout line starting with `prefix`; fails early if the child exits. */
  async waitLine(prefix: string, ms: number): Promise<string> {
    return waitFor(
      `"${prefix}" from ${this.name}`,
      () => {
        const found = this.lines.find((l) => l.startsWith(prefix));
        if (found !== undefined) return found;
        if (!this.alive)
          throw new Error(`${this.name} exited before "${prefix}": ${this.stderr.slice(-2000)}`);
        return undefined;
      },
      { timeoutMs: ms, message: () => `${this.name}: no "${prefix}" within ${ms} ms: ${this.stderr}` },
    );
  }

  send(line: string): void {
    this.proc.stdin?.write(`${line}\n`);
  }

  /** Sends `signal` and resolves with the exit. */
  async signal(signal: NodeJS.Signals): Promise<Exit> {
    if (this.alive) this.proc.kill(signal);
    return this.exited;
  }

  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Closes stdin (a clean stop for a child that reads it), then SIGKILLs after `ms` if it is still there. */
  async stop(ms = 10_000): Promise<void> {
    if (!this.alive) return;
    this.proc.stdin?.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface SpawnOptions extends ProcessOptions {
  /** 'pipe' to talk to the child (and let it end itself when this process dies); default 'ignore'. */
  stdin?: 'pipe' | 'ignore';
  /** Called with each whole stdout line. */
  onLine?: (line: string) => void;
}

/** Starts a program that keeps running. */
export function spawnProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Child {
  const proc = spawn(command, args, {
    cwd: options.cwd ?? REPO,
    env: childEnv(options),
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  return new Child(name, proc, options.onLine);
}

/** Starts a TypeScript program of this repository (`file` relative to the root, or absolute). */
export function spawnTsx(
  name: string,
  file: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Child {
  return spawnProcess(name, process.execPath, tsxArgv(file, args, options.cwd ?? REPO), options);
}
