/**
 * Secrets hashed in mosquitto 2.0's own password-file format, so the external broker's password
 * file can be regenerated from the database without the plaintext ever being kept.
 *
 * Format (mosquitto 2.0.11, apps/mosquitto_passwd and src/security_default.c):
 *   `$7$<iterations>$<salt, base64>$<PBKDF2-HMAC-SHA512(secret, salt, iterations, 64), base64>`
 * `7` is pw_sha512_pbkdf2. The broker removes an entry whose salt does not decode to exactly
 * 12 bytes or whose hash does not decode to exactly 64 bytes, and one with iterations < 1.
 */
import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';

/** mosquitto 2.0 accepts only 12-byte salts (SALT_LEN). */
export const MOSQUITTO_SALT_BYTES = 12;
const MOSQUITTO_HASH_BYTES = 64;
/**
 * mosquitto_passwd's default is 101. We use more, but not many more: mosquitto is single-threaded
 * and hashes on every CONNECT, so after a broker restart thousands of gateways reconnecting would
 * stall it behind a slow hash. The secrets are 32 random bytes (256 bits), which no iteration
 * count could make more or less guessable; the count only matters for human passwords.
 */
export const MOSQUITTO_ITERATIONS = 1000;
const MAX_ITERATIONS = 1_000_000;

function derive(secret: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // mosquitto hashes strlen(password) bytes of the UTF-8 string; our secrets are ASCII.
    pbkdf2(secret, salt, iterations, MOSQUITTO_HASH_BYTES, 'sha512', (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** `$7$<iterations>$<salt>$<hash>` of `secret` with a fresh 12-byte salt. */
export async function mosquittoHash(secret: string, iterations = MOSQUITTO_ITERATIONS): Promise<string> {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`mosquitto hash iterations must be 1..${MAX_ITERATIONS}`);
  }
  const salt = randomBytes(MOSQUITTO_SALT_BYTES);
  const key = await derive(secret, salt, iterations);
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const HASH_RE = /^\$7\$([1-9][0-9]{0,6})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** Is `encoded` something mosquitto 2.0 would load (not remove as invalid)? */
export function isMosquittoHash(encoded: string): boolean {
  const match = HASH_RE.exec(encoded);
  if (match === null) return false;
  const iterations = Number(match[1]);
  return (
    iterations <= MAX_ITERATIONS &&
    Buffer.from(match[2] ?? '', 'base64').length === MOSQUITTO_SALT_BYTES &&
    Buffer.from(match[3] ?? '', 'base64').length === MOSQUITTO_HASH_BYTES
  );
}

/** Does `secret` match a `$7$` hash (ours or mosquitto_passwd's)? False when malformed; never throws. */
export async function verifyMosquittoHash(secret: string, encoded: string): Promise<boolean> {
  if (!isMosquittoHash(encoded)) return false;
  const [, iterationsText, saltText, keyText] = HASH_RE.exec(encoded) ?? [];
  const expected = Buffer.from(keyText ?? '', 'base64');
  try {
    const actual = await derive(secret, Buffer.from(saltText ?? '', 'base64'), Number(iterationsText));
    return timingSafeEqual(actual, expected);
  } catch {
    return false;
  }
}
