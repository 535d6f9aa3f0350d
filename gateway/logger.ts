/**
 * The gateway's one logger factory. Logs are JSON lines on stdout (pino), the format journald,
 * Docker and log shippers take as is; pipe through `npx pino-pretty` to read them by eye.
 *
 * Secrets are never logged: pino's redact censors any field named like a secret at the top
 * level and up to three levels down (redact paths cannot match at any depth; deeper nesting of
 * secrets in log objects is a bug to fix at the call site).
 */
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { REDACT_PATHS, REDACTED } from '../runtime/log-redaction.js';

export { REDACT_PATHS, REDACTED };

export type LogLevel = Level | 'silent';

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** Level from the config document; LOG_LEVEL in the environment wins (for a one-off debug run). */
  level?: LogLevel;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  destination?: DestinationStream;
  /** Environment to read LOG_LEVEL from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/** Resolves the effective level: a valid LOG_LEVEL, else the configured level, else info. */
export function resolveLogLevel(
  configured: LogLevel | undefined,
  env: NodeJS.ProcessEnv = process.env,
): LogLevel {
  const fromEnv = env['LOG_LEVEL']?.trim().toLowerCase();
  if (isLogLevel(fromEnv)) return fromEnv;
  return configured ?? 'info';
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const env = options.env ?? process.env;
  const level = resolveLogLevel(options.level, env);
  const pinoOptions = { level, redact: { paths: [...REDACT_PATHS], censor: REDACTED } };
  const logger =
    options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
  const requested = env['LOG_LEVEL'];
  if (requested !== undefined && requested.trim() !== '' && !isLogLevel(requested.trim().toLowerCase())) {
    logger.warn({ LOG_LEVEL: requested, valid: LOG_LEVELS, usingLevel: level }, 'ignoring invalid LOG_LEVEL');
  }
  return logger;
}
