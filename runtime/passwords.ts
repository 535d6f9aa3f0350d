/**
 * Human passwords, the one implementation both programs share: the rules a new password must
 * meet, a readable generator, and a PasswordHasher that hashes and checks with scrypt (RFC 7914,
 * runtime/scrypt.ts) through a bounded queue. The cloud's operators (cloud-sync/service/auth/
 * passwords.ts) and the cabinet's web users (gateway/web/accounts/passwords.ts) each make one
 * hasher with their own scrypt row of the OWASP Password Storage Cheat Sheet, their own bounds
 * and their own error class; the logic is here once, so a fix reaches both. A password is never
 * logged, audited or stored in clear. In runtime/ because neither program may import the other;
 * it imports nothing of ours (the callers pass their errors in as functions).
 */
import { randomInt } from 'node:crypto';
import { isWeakerThan, scryptHash, verifyScrypt, type ScryptParams } from './scrypt.js';

/** NIST SP 800-63B and the OWASP Authentication Cheat Sheet ask at least 8 characters; we ask 12. */
export const MIN_PASSWORD_LENGTH = 12;
/** Bounds the scrypt input so a huge body cannot make hashing the bottleneck. */
export const MAX_PASSWORD_LENGTH = 256;
/** Length of a generated password: about 116 bits from READABLE_ALPHABET. */
export const GENERATED_PASSWORD_LENGTH = 20;

/**
 * Letters and digits without the look-alikes 0 O o 1 l I, so a password read off a terminal, a
 * screen or paper is typed right the first time: 56 symbols, 20 of them give about 116 bits.
 */
const READABLE_ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Makes the caller's own error (its class and code) from a message. */
export type MakeError = (message: string) => Error;

/**
 * Throws `invalid(message)` unless `password` is acceptable for `username`: at least
 * MIN_PASSWORD_LENGTH characters (code points, so a password of emoji is not cut short), at most
 * MAX_PASSWORD_LENGTH UTF-16 units, and not the username in any case.
 */
export function checkPasswordRules(password: string, username: string, invalid: MakeError): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw invalid(`a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw invalid(`a password has at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  if (password.toLowerCase() === username.toLowerCase()) {
    throw invalid('the password must not be the username');
  }
}

/** A random, readable password (crypto.randomInt: uniform, no modulo bias). */
export function generateReadablePassword(length = GENERATED_PASSWORD_LENGTH): string {
  let password = '';
  for (let i = 0; i < length; i++) password += READABLE_ALPHABET[randomInt(READABLE_ALPHABET.length)];
  return password;
}

export interface PasswordCheck {
  ok: boolean;
  /** The password is right but its hash is weaker than today's parameters: hash it again. */
  rehash: boolean;
}

export interface PasswordHasherOptions {
  /** scrypt parameters of new hashes: a row of the OWASP Password Storage Cheat Sheet's scrypt list. */
  params: Readonly<ScryptParams>;
  /**
   * Hashes running at once. Each takes 128 * N * r bytes and a thread of libuv's pool (4 by
   * default, shared with file I/O and DNS), so a burst of sign-ins queues here instead of taking
   * all the memory and every thread.
   */
  maxConcurrent: number;
  /**
   * Hashes waiting for a slot; one more is refused at once with `errors.busy` rather than holding
   * its request (and socket) in an unbounded queue behind a flood (issue 12).
   */
  maxWaiting: number;
  errors: {
    /** A bad argument: the test-only cost knob used outside node:test. */
    invalid: MakeError;
    /** The waiting queue is full (the callers answer it with 429). */
    busy: MakeError;
  };
}

/**
 * Hashes and checks passwords at `params`, at most `maxConcurrent` at once and `maxWaiting`
 * waiting. One per program: the bound only protects if every hash of the process goes through it.
 */
export class PasswordHasher {
  readonly #options: PasswordHasherOptions;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  /** The parameters new hashes get: `options.params`, except in tests (useParamsForTests). */
  #current: Readonly<ScryptParams>;
  /** The unknown-username hash (dummyHash), made at first use with #current. */
  #dummyHash: Promise<string> | null = null;

  constructor(options: PasswordHasherOptions) {
    this.#options = { ...options, params: { ...options.params } };
    this.#current = this.#options.params;
  }

  /** The parameters new hashes get now. */
  currentParams(): Readonly<ScryptParams> {
    return this.#current;
  }

  /**
   * Tests only: a cheaper cost, so the suites' hundreds of sign-ins do not take minutes. Refused
   * outside the node:test runner, which sets NODE_TEST_CONTEXT in every test process; the services
   * never call it, and no setting or environment variable of theirs weakens password hashing.
   */
  useParamsForTests(params: ScryptParams): void {
    if (process.env['NODE_TEST_CONTEXT'] === undefined) {
      throw this.#options.errors.invalid('the password hash cost is lowered only under node --test');
    }
    this.#current = { ...params };
    this.#dummyHash = null;
  }

  hash(password: string): Promise<string> {
    return this.#limited(() => scryptHash(password, this.#current));
  }

  /** Checks `password` against a stored hash; a malformed hash is a refusal, never a throw. */
  async check(password: string, hash: string): Promise<PasswordCheck> {
    const ok = await this.#limited(() => verifyScrypt(password, hash));
    return { ok, rehash: ok && isWeakerThan(hash, this.#current) };
  }

  /**
   * A hash of a random password nobody knows, at today's parameters, checked when the username is
   * unknown or disabled so that refusing it costs what refusing a real user costs (no enumeration
   * by timing: OWASP Authentication Cheat Sheet, "Authentication and Error Messages").
   */
  dummyHash(): Promise<string> {
    if (this.#dummyHash === null) {
      const made = this.hash(generateReadablePassword(32));
      this.#dummyHash = made;
      // A refusal (the waiting queue full) must not be kept as the hash: the next call tries again.
      made.catch(() => {
        if (this.#dummyHash === made) this.#dummyHash = null;
      });
    }
    return this.#dummyHash;
  }

  async #limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#options.maxConcurrent) {
      if (this.#waiting.length >= this.#options.maxWaiting) {
        throw this.#options.errors.busy('too many passwords are being checked; try again in a few seconds');
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running += 1;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter (#running stays the same), or free it.
      const next = this.#waiting.shift();
      if (next === undefined) this.#running -= 1;
      else next();
    }
  }
}
