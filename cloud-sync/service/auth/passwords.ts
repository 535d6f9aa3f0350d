/**
 * Operator passwords: the rules a new password must meet, a generator for the CLI and the demo,
 * and hashing. Hashes are scrypt (RFC 7914, runtime/scrypt.ts) at the OWASP Password Storage Cheat
 * Sheet's first setting, N=2^17, r=8, p=1 (128 MiB, about half a second per check); a hash with
 * weaker parameters is redone at the next successful login (auth/operators.ts). A password is never
 * logged, audited or stored in clear. (Gateways' MQTT secrets are random, not chosen by people,
 * and use a keyed hash instead: broker/credentials.ts.)
 */
import { randomInt } from 'node:crypto';
import { isWeakerThan, scryptHash, verifyScrypt, type ScryptParams } from '../../../runtime/scrypt.js';
import { AuthError } from './errors.js';

export const MIN_PASSWORD_LENGTH = 12;
/** Bounds the scrypt input so a huge body cannot make hashing the bottleneck. */
export const MAX_PASSWORD_LENGTH = 256;
export const GENERATED_PASSWORD_LENGTH = 20;

/**
 * Letters and digits without the look-alikes 0 O o 1 l I, so a password read off a terminal or
 * paper is typed right the first time: 56 symbols, 20 of them give about 116 bits.
 */
const READABLE_ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Throws AUTH_INVALID_ARGUMENT unless `password` is acceptable for `username`. */
export function validatePassword(password: string, username: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new AuthError(
      'AUTH_INVALID_ARGUMENT',
      `a password needs at least ${MIN_PASSWORD_LENGTH} characters`,
    );
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new AuthError('AUTH_INVALID_ARGUMENT', `a password has at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  if (password.toLowerCase() === username.toLowerCase()) {
    throw new AuthError('AUTH_INVALID_ARGUMENT', 'the password must not be the username');
  }
}

/** A random, readable password (crypto.randomInt: uniform, no modulo bias). */
export function generatePassword(length = GENERATED_PASSWORD_LENGTH): string {
  let password = '';
  for (let i = 0; i < length; i++) password += READABLE_ALPHABET[randomInt(READABLE_ALPHABET.length)];
  return password;
}

/** scrypt parameters of new password hashes (OWASP Password Storage Cheat Sheet, scrypt). */
export const PASSWORD_SCRYPT: Readonly<ScryptParams> = { n: 1 << 17, r: 8, p: 1 };

/**
 * At most this many password hashes run at once: each takes 128 MiB and a thread of libuv's pool
 * (4 by default, shared with file I/O), so a burst of logins queues here instead of taking all
 * the memory and every thread. Login attempts are rate-limited as well (docs/auth.md).
 */
export const MAX_CONCURRENT_PASSWORD_HASHES = 2;
/**
 * At most this many hashes wait for a slot (about 8 s of work at PASSWORD_SCRYPT); one more is
 * refused at once with 429 AUTH_RATE_LIMITED, the answer of every sign-in limit, rather than
 * holding its request (and socket) in an unbounded queue behind a flood (issue 12).
 */
export const MAX_WAITING_PASSWORD_HASHES = 32;

let running = 0;
const waiting: (() => void)[] = [];

async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_PASSWORD_HASHES) {
    if (waiting.length >= MAX_WAITING_PASSWORD_HASHES) {
      throw new AuthError(
        'AUTH_RATE_LIMITED',
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

/** The parameters new hashes get: PASSWORD_SCRYPT, except in tests (usePasswordScryptForTests). */
let current: Readonly<ScryptParams> = PASSWORD_SCRYPT;
/** The unknown-username hash (dummyPasswordHash), made at first use with `current`. */
let dummyHash: Promise<string> | null = null;

/**
 * Tests only: a cheaper cost, so the suites' hundreds of sign-ins do not take minutes (each costs
 * half a second at PASSWORD_SCRYPT). Refused outside the node:test runner, which sets
 * NODE_TEST_CONTEXT in every test process; the service never calls it, and no setting or
 * environment variable of the service weakens password hashing.
 */
export function usePasswordScryptForTests(params: ScryptParams): void {
  if (process.env['NODE_TEST_CONTEXT'] === undefined) {
    throw new AuthError('AUTH_INVALID_ARGUMENT', 'the password hash cost is lowered only under node --test');
  }
  current = { ...params };
  dummyHash = null;
}

export function hashPassword(password: string): Promise<string> {
  return limited(() => scryptHash(password, current));
}

export interface PasswordCheck {
  ok: boolean;
  /** The password is right but its hash is weaker than today's parameters: hash it again. */
  rehash: boolean;
}

/** Checks `password` against a stored hash; never throws (a malformed hash is a refusal). */
export async function checkPassword(password: string, hash: string): Promise<PasswordCheck> {
  const ok = await limited(() => verifyScrypt(password, hash));
  return { ok, rehash: ok && isWeakerThan(hash, current) };
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  return (await checkPassword(password, hash)).ok;
}

/**
 * A hash of a random password nobody knows, at today's parameters, checked when the username is
 * unknown so that refusing it costs what refusing a real operator costs (no enumeration by timing).
 */
export function dummyPasswordHash(): Promise<string> {
  if (dummyHash === null) {
    const made = hashPassword(generatePassword(32));
    dummyHash = made;
    // A refusal (the waiting queue full) must not be kept as the hash: the next call tries again.
    made.catch(() => {
      if (dummyHash === made) dummyHash = null;
    });
  }
  return dummyHash;
}
