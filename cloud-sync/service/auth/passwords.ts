/**
 * Operator passwords: the rules a new password must meet, a generator for the CLI and the demo,
 * and hashing. Hashes are scrypt (broker/credentials.ts, RFC 7914), the same format the gateways'
 * MQTT secrets use, so one verified implementation covers both. A password is never logged,
 * audited or stored in clear.
 */
import { randomInt } from 'node:crypto';
import { hashSecret, verifySecret } from '../broker/credentials.js';
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

export function hashPassword(password: string): Promise<string> {
  return hashSecret(password);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return verifySecret(password, hash);
}
