/**
 * Operator passwords: the rules, the generator for the CLI and the demo, and hashing, all from
 * runtime/passwords.ts (shared with the cabinet's web users); this file picks the cloud's settings
 * and its error class. Hashes are scrypt at the OWASP Password Storage Cheat Sheet's first scrypt
 * row, N=2^17, r=8, p=1 (128 MiB, about half a second per check): the cloud runs on a server with
 * memory to spare. Two hashes run at once and 32 wait (about 8 s of work); one more is refused with
 * 429 AUTH_RATE_LIMITED, the answer of every sign-in limit (docs/auth.md). A hash with weaker
 * parameters is redone at the next successful login (auth/operators.ts). (Gateways' MQTT secrets
 * are random, not chosen by people, and use a keyed hash instead: broker/credentials.ts.)
 */
import { checkPasswordRules, PasswordHasher, type PasswordCheck } from '../../../runtime/passwords.js';
import type { ScryptParams } from '../../../runtime/scrypt.js';
import { AuthError } from './errors.js';

export {
  generateReadablePassword as generatePassword,
  GENERATED_PASSWORD_LENGTH,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  type PasswordCheck,
} from '../../../runtime/passwords.js';

/** scrypt parameters of new password hashes (OWASP Password Storage Cheat Sheet, scrypt, 128 MiB). */
export const PASSWORD_SCRYPT: Readonly<ScryptParams> = { n: 1 << 17, r: 8, p: 1 };
/** Hashes running at once: two of libuv's four threads, 256 MiB at most. */
export const MAX_CONCURRENT_PASSWORD_HASHES = 2;
/** Hashes waiting for a slot (about 8 s of work at PASSWORD_SCRYPT); one more is refused with 429. */
export const MAX_WAITING_PASSWORD_HASHES = 32;

const invalid = (message: string): AuthError => new AuthError('AUTH_INVALID_ARGUMENT', message);
const busy = (message: string): AuthError => new AuthError('AUTH_RATE_LIMITED', message);
const hasher = new PasswordHasher({
  params: PASSWORD_SCRYPT,
  maxConcurrent: MAX_CONCURRENT_PASSWORD_HASHES,
  maxWaiting: MAX_WAITING_PASSWORD_HASHES,
  errors: { invalid, busy },
});

/** Throws AUTH_INVALID_ARGUMENT unless `password` is acceptable for `username`. */
export function validatePassword(password: string, username: string): void {
  checkPasswordRules(password, username, invalid);
}

/** Tests only (refused outside node --test): a cheaper cost for the suites' many sign-ins. */
export function usePasswordScryptForTests(params: ScryptParams): void {
  hasher.useParamsForTests(params);
}

export function hashPassword(password: string): Promise<string> {
  return hasher.hash(password);
}

/** Checks `password` against a stored hash; never throws for a malformed hash (it is a refusal). */
export function checkPassword(password: string, hash: string): Promise<PasswordCheck> {
  return hasher.check(password, hash);
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  return (await checkPassword(password, hash)).ok;
}

/** The hash checked for an unknown username, so refusing it costs what refusing an operator costs. */
export function dummyPasswordHash(): Promise<string> {
  return hasher.dummyHash();
}
