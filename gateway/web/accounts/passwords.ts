/**
 * Passwords of the cabinet's web users (docs/auth.md, "The cabinet's accounts"): the rules, the
 * generator for the demo and the future CLI, and hashing, all from runtime/passwords.ts (shared
 * with the cloud's operators); this file picks the cabinet's settings and its error class.
 *
 * Hashes are scrypt at N=2^14, r=8, p=5: one row of the OWASP Password Storage Cheat Sheet's scrypt
 * list ("N=2^17 (128 MiB), r=8 (1024 bytes), p=1" ... "N=2^14 (16 MiB), r=8 (1024 bytes), p=5"),
 * which it calls equivalent in the defence they provide: an eighth of the memory, made up for by
 * five passes. 16 MiB suits a cabinet's small computer (the cloud, on a server, uses N=2^17).
 *
 * One hash runs at a time (it takes 16 MiB and a libuv thread, which the store's file work shares)
 * and at most 8 wait (about 2 s of work); one more is refused at once with 429 WEB_RATE_LIMITED.
 * A hash with weaker parameters is redone at the next successful sign-in.
 */
import {
  checkPasswordRules as checkRules,
  PasswordHasher,
  type PasswordCheck,
} from '../../../runtime/passwords.js';
import type { ScryptParams } from '../../../runtime/scrypt.js';
import { WebError } from '../errors.js';

export {
  generateReadablePassword as generatePassword,
  GENERATED_PASSWORD_LENGTH,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  type PasswordCheck,
} from '../../../runtime/passwords.js';

/** scrypt parameters of new hashes (OWASP Password Storage Cheat Sheet, scrypt, the 16 MiB row). */
export const WEB_PASSWORD_SCRYPT: Readonly<ScryptParams> = { n: 1 << 14, r: 8, p: 5 };
/** Hashes running at once: one (see the header). */
export const MAX_CONCURRENT_PASSWORD_HASHES = 1;
/** Hashes waiting for the slot (about 2 s of work); one more is refused with 429. */
export const MAX_WAITING_PASSWORD_HASHES = 8;

const invalid = (message: string): WebError => new WebError('WEB_INVALID_ARGUMENT', message);
const busy = (message: string): WebError => new WebError('WEB_RATE_LIMITED', message);
const hasher = new PasswordHasher({
  params: WEB_PASSWORD_SCRYPT,
  maxConcurrent: MAX_CONCURRENT_PASSWORD_HASHES,
  maxWaiting: MAX_WAITING_PASSWORD_HASHES,
  errors: { invalid, busy },
});

/** Throws WEB_INVALID_ARGUMENT unless `password` is acceptable for `username`. */
export function checkPasswordRules(password: string, username: string): void {
  checkRules(password, username, invalid);
}

/** Tests only (refused outside node --test): a cheaper cost for the suites' many sign-ins. */
export function usePasswordScryptForTests(params: ScryptParams): void {
  hasher.useParamsForTests(params);
}

/** The parameters new hashes get now. */
export function currentPasswordScrypt(): Readonly<ScryptParams> {
  return hasher.currentParams();
}

export function hashPassword(password: string): Promise<string> {
  return hasher.hash(password);
}

/** Checks `password` against a stored hash; a malformed hash is a refusal, never a throw. */
export function checkPassword(password: string, hash: string): Promise<PasswordCheck> {
  return hasher.check(password, hash);
}

/** The hash checked for an unknown or disabled username, so refusing it costs what refusing a user costs. */
export function dummyPasswordHash(): Promise<string> {
  return hasher.dummyHash();
}
