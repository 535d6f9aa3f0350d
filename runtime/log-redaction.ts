/**
 * The one list of field names whose values are secrets, for every Kerbside process's logger (the
 * gateway's gateway/logger.ts, the cloud's cloud-sync/service/main.ts): pino's redact censors them
 * at the top level and up to three levels down. pino's paths cannot match at any depth, so a
 * secret nested deeper in a log object is a bug to fix at the call site (docs/security.md, "Surfaces": the logs row).
 */

export const SECRET_KEYS: readonly string[] = [
  'password',
  'passphrase',
  'token',
  'accessToken',
  'refreshToken',
  'scrapeToken',
  'secret',
  'clientSecret',
  'credential',
  'credentials',
  'key',
  'apiKey',
  'privateKey',
  'authorization',
  'Authorization',
  'cookie',
];

/** `password`, `*.password`, `*.*.password`, `*.*.*.password` ... for every secret key. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) =>
  ['', '*.', '*.*.', '*.*.*.'].map((prefix) => `${prefix}${key}`),
);

export const REDACTED = '[redacted]';
