/**
 * Passwords of the cabinet's web users (docs/auth.md, "The cabinet's accounts"): the rules a new
 * password must meet, a generator for the demo and the future CLI, and hashing.
 *
 * Hashes are scrypt (RFC 7914, runtime/scrypt.ts) at N=2^14, r=8, p=5: one row of the OWASP
 * Password Storage Cheat Sheet's scrypt list ("N=2^17 (128 MiB), r=8 (1024 bytes), p=1" ...
 * "N=2^14 (16 MiB), r=8 (1024 bytes), p=5"), which it calls equivalent in the defence they
 * provide: an eighth of the memory, made up for by five passes. 16 MiB suits a cabinet's small
 * computer (the cloud, on a server, uses N=2^17). A hash with weaker parameters is redone at the
 * next successful sign-in.
 *
 * One hash runs at a time (it takes 16 MiB and a libuv thread, which the store's file work shares)
 * and at most MAX_WAITING_PASSWORD_HASHES wait; one more is refused at once with 429
 * WEB_RATE_LIMITED rather than queued without end behind a flood. A password is never logged,
 * audited or stored in clear.
 */
import { randomInt } from 'node:crypto';
import { isWeakerThan, scryptHash, verifyScrypt, type ScryptParams } from '../../../runtime/scrypt.js';
import { WebError } from '../errors.js';

export const MIN_PASSWORD_LENGTH = 12;
/** Bounds the scrypt input so a huge body cannot make hashing the bottleneck. */
export const MAX_PASSWORD_LENGTH = 256;
export const GENERATED_PASSWORD_LENGTH = 20;

/** scrypt parameters of new hashes (OWASP Password Storage Cheat Sheet, scrypt, the 16 MiB row). */
export const WEB_PASSWORD_SCRYPT: Readonly<ScryptParams> = { n: 1 << 14, r: 8, p: 5 };

/** Hashes running at once: one (see the header). */
export const MAX_CONCURRENT_PASSWORD_HASHES = 1;
/** Hashes waiting for the slot (about 2 s of work); one more is refused with 429. */
export const MAX_WAITING_PASSWORD_HASHES = 8;

/**
 * Letters and digits without the look-alikes 0 O o 1 l I, so a password read off a screen is typed
 * right the first time: 56 symbols, 20 of them give about 116 bits.
 */
const READABLE_ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Throws WEB_INVALID_ARGUMENT unless `password` is acceptable for `username`. */
export function checkPasswordRules(password: string, username: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new WebError('WEB_INVALID_ARGUMENT', `a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new WebError('WEB_INVALID_ARGUMENT', `a password has at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  if (password.toLowerCase() === username.toLowerCase()) {
    throw new WebError('WEB_INVALID_ARGUMENT', 'the password must not be the username');
  }
}

/** A random, readable password (crypto.randomInt: uniform, no modulo bias). */
export function generatePassword(length = GENERATED_PASSWORD_LENGTH): string {
  let password = '';
  for (let i = 0; i < length; i++) password += READABLE_ALPHABET[randomInt(READABLE_ALPHABET.length)];
  return password;
}

let running = 0;
const waiting: (() => void)[] = [];

async function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_PASSWORD_HASHES) {
    if (waiting.length >= MAX_WAITING_PASSWORD_HASHES) {
      throw new WebError(
        'WEB_RATE_LIMITED',
        'too many passwords are being checked; try again in a few seconds',
      );
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else {
    running += 1;
  }
  try {
    return await work();
  } finally {
    // Hand the slot straight to the next waiter (running stays the same), or free it.
    const next = waiting.shift();
    if (next === undefined) running -= 1;
    else next();
  }
}

/** The parameters new hashes get: WEB_PASSWORD_SCRYPT, except in tests. */
let current: Readonly<ScryptParams> = WEB_PASSWORD_SCRYPT;
/** The unknown-username hash (dummyPasswordHash), made at first use with `current`. */
let dummyHash: Promise<string> | null = null;

/**
 * Tests only: a cheaper cost, so the suites' many sign-ins do not take minutes. Refused outside the
 * node:test runner, which sets NODE_TEST_CONTEXT in every test process; the gateway never calls it,
 * and no setting or environment variable of the gateway weakens password hashing.
 */
export function usePasswordScryptForTests(params: ScryptParams): void {
  if (process.env['NODE_TEST_CONTEXT'] === undefined) {
    throw new WebError('WEB_INVALID_ARGUMENT', 'the password hash cost is lowered only under node --test');
  }
  current = { ...params };
  dummyHash = null;
}

/** The parameters new hashes get now. */
export function currentPasswordScrypt(): Readonly<ScryptParams> {
  return current;
}

export function hashPassword(password: string): Promise<string> {
  return oneAtATime(() => scryptHash(password, current));
}

export interface PasswordCheck {
  ok: boolean;
  /** The password is right but its hash is weaker than today's parameters: hash it again. */
  rehash: boolean;
}

/** Checks `password` against a stored hash; a malformed hash is a refusal, never a throw. */
export async function checkPassword(password: string, hash: string): Promise<PasswordCheck> {
  const ok = await oneAtATime(() => verifyScrypt(password, hash));
  return { ok, rehash: ok && isWeakerThan(hash, current) };
}

/**
 * A hash of a random password nobody knows, at today's parameters, checked when the username is
 * unknown or disabled so that refusing it costs what refusing a real user costs (no enumeration by
 * timing).
 */
export function dummyPasswordHash(): Promise<string> {
  if (dummyHash === null) {
    const made = hashPassword(generatePassword(32));
    dummyHash = made;
    // A refusal (the queue full) must not be kept as the hash: the next call tries again.
    made.catch(() => {
      if (dummyHash === made) dummyHash = null;
    });
  }
  return dummyHash;
}
