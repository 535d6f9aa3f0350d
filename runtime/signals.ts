/**
 * Stop signals for every Kerbside process (gateway, cloud service, simulators, demo).
 *
 * One Ctrl-C often arrives twice: the terminal sends SIGINT to the whole foreground process group
 * and a wrapper in that group (npm, or a shell that exec'd the service) forwards its own copy to
 * the service as well. Treating the second copy as "stop now, skip the clean stop" lost the last
 * readings and left the database unclosed. So a repeated stop signal within `windowMs` of the
 * first is the same request and is only logged; a repeat after the window is a person pressing
 * Ctrl-C again because the stop hangs, and that one forces the exit (and says so in the log).
 *
 * This module imports nothing of ours (eslint.config.js): it is process plumbing that gateway/,
 * cloud-sync/ and simulators/ all share without depending on one another.
 */

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** Where signals come from: `process`, or any EventEmitter in a unit test. */
export interface SignalSource {
  on(signal: StopSignal, listener: () => void): unknown;
  off(signal: StopSignal, listener: () => void): unknown;
}

/** The two levels the helper logs at; a pino Logger fits. */
export interface SignalLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface StopSignalOptions {
  /** The first stop signal: begin the clean stop. Called once. */
  onStop(signal: StopSignal): void;
  /**
   * A stop signal more than `windowMs` after the first: give up on the clean stop and exit now.
   * Called for every such signal (a caller that is still not gone gets asked again). Default:
   * exit with code 1, the code every Kerbside process uses for "did not stop cleanly".
   */
  onForce?(signal: StopSignal, sinceFirstMs: number): void;
  /** How long repeats count as the same request; default DEFAULT_REPEAT_WINDOW_MS. */
  windowMs?: number;
  /** Where repeats are reported; default one plain line on stderr. */
  logger?: SignalLogger;
  /** Default SIGINT and SIGTERM. */
  signals?: readonly StopSignal[];
  /** Default `process`. */
  source?: SignalSource;
  /** Monotonic milliseconds; default performance.now (tests pass a clock they move by hand). */
  now?: () => number;
}

/**
 * Long enough to cover a forwarded copy of one Ctrl-C even on a loaded cabinet (they arrive
 * within milliseconds), short enough that a person pressing Ctrl-C again at a hung stop is heard.
 */
export const DEFAULT_REPEAT_WINDOW_MS = 2_000;

const stderrLogger: SignalLogger = {
  info: (fields, message) => process.stderr.write(`${message} ${JSON.stringify(fields)}\n`),
  warn: (fields, message) => process.stderr.write(`${message} ${JSON.stringify(fields)}\n`),
};

/**
 * Listens for stop signals as described at the top of this file. Returns a function that removes
 * the listeners (after which the signals have their default effect again, unless others listen).
 */
export function onStopSignals(options: StopSignalOptions): () => void {
  const source = options.source ?? process;
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const windowMs = options.windowMs ?? DEFAULT_REPEAT_WINDOW_MS;
  const logger = options.logger ?? stderrLogger;
  const now = options.now ?? (() => performance.now());
  const force = options.onForce ?? (() => process.exit(1));

  let firstAt: number | undefined;
  const handle = (signal: StopSignal): void => {
    const at = now();
    if (firstAt === undefined) {
      firstAt = at;
      options.onStop(signal);
      return;
    }
    const sinceFirstMs = Math.round(at - firstAt);
    if (at - firstAt <= windowMs) {
      logger.info(
        { signal, sinceFirstMs, windowMs },
        `${signal} again within ${windowMs} ms of the first stop signal: the same stop request, still stopping cleanly`,
      );
      return;
    }
    logger.warn(
      { signal, sinceFirstMs, windowMs },
      `${signal} again ${sinceFirstMs} ms after the first stop signal: forcing exit without finishing the clean stop`,
    );
    force(signal, sinceFirstMs);
  };

  const listeners = signals.map((signal) => {
    const listener = (): void => handle(signal);
    source.on(signal, listener);
    return { signal, listener };
  });
  return () => {
    for (const { signal, listener } of listeners) source.off(signal, listener);
  };
}

/** The level a crash is logged at; a pino Logger fits. */
export interface CrashLogger {
  fatal(fields: Record<string, unknown>, message: string): void;
}

/**
 * A bug (an uncaught exception, an unhandled rejection) must not leave a service's buffered work
 * half done: it is logged at fatal and the service stops as cleanly as it can, through the same
 * `stop` a stop signal uses, which then exits with code 1.
 */
export function stopOnCrash(
  logger: CrashLogger,
  stop: (reason: 'uncaughtException' | 'unhandledRejection') => void,
): void {
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    stop('uncaughtException');
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    stop('unhandledRejection');
  });
}

/**
 * Runs a program's main and exits with the code it resolves to. A main that rejects is a bug or a
 * failure before logging was set up: its stack goes to stderr and the exit code is 1.
 */
export function exitWith(main: Promise<number>): void {
  void main.then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}

/** The levels runUntilStopped logs at; a pino Logger fits. */
export interface ServiceLogger extends SignalLogger, CrashLogger {
  error(fields: Record<string, unknown>, message: string): void;
}

export interface RunUntilStoppedOptions {
  logger: ServiceLogger;
  /**
   * Stops the service; resolves with the exit code of a clean stop (0, or a code of the
   * service's own, such as the gateway's 4 for decisions it could not store).
   */
  stop(): Promise<number>;
  /** A stop that takes longer than this exits 1. */
  timeoutMs: number;
}

/**
 * A long-running service's life after start-up, the same for the gateway and the cloud: the first
 * stop signal or a crash (stopOnCrash) begins ONE clean stop, bounded by `timeoutMs`; a repeat is
 * logged and changes nothing but the exit code; a person's late repeat forces exit 1
 * (onStopSignals). Resolves with the exit code: the stop's own, or 1 when a crash asked for the
 * stop, the stop failed or it timed out. The process is kept alive until then, even when nothing
 * else would keep it (a gateway with no buses yet).
 */
export function runUntilStopped(options: RunUntilStoppedOptions): Promise<number> {
  const { logger } = options;
  return new Promise((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const finish = (code: number): void => {
      clearInterval(keepAlive);
      resolve(code);
    };
    let stopping = false;
    let failed = false;
    const stop = (reason: string, failure: boolean): void => {
      failed ||= failure;
      if (stopping) {
        // The stop timeout bounds the stop under way; only the operator's late repeat of the
        // signal (onForce) cuts it short.
        logger.warn({ reason }, 'stop requested again while stopping; still stopping cleanly');
        return;
      }
      stopping = true;
      logger.info({ reason }, 'stopping');
      const timer = setTimeout(() => {
        logger.error({ timeoutMs: options.timeoutMs }, 'stop did not finish in time');
        finish(1);
      }, options.timeoutMs);
      options.stop().then(
        (code) => {
          clearTimeout(timer);
          finish(code === 0 && failed ? 1 : code);
        },
        (error: unknown) => {
          clearTimeout(timer);
          logger.error({ err: error }, 'stop failed');
          finish(1);
        },
      );
    };
    onStopSignals({ logger, onStop: (signal) => stop(signal, false), onForce: () => finish(1) });
    stopOnCrash(logger, (reason) => stop(reason, true));
  });
}
