/**
 * Per-gateway (and per-service-account) MQTT credentials, stored only as scrypt hashes
 * (docs/uplink-contract.md, "Authentication"). The plain secret exists twice: once in the
 * enrollment response, once in the gateway's own configuration; the cloud keeps
 * `scrypt$N$r$p$salt$hash`.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * scrypt cost parameters (RFC 7914): N=16384, r=8, p=1 takes about 16 MiB and tens of
 * milliseconds per check, which is negligible for one CONNECT per gateway session yet makes
 * guessing offline expensive if the credential table leaks. The secrets themselves are 32 random
 * bytes, so the hash is a second line of defence, not the only one.
 */
export const SCRYPT_N = 16384;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Upper bounds accepted when decoding a stored hash, so a tampered row cannot ask for gigabytes. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

/** The stored form of one credential: the encoded hash and whether it may still connect. */
export interface StoredCredential {
  hash: string;
  disabled: boolean;
}

/**
 * Where the broker looks credentials up. Keyed by gateway id (or by service account name in the
 * service-account store). The database-backed implementation arrives with enrollment.
 */
export interface CredentialStore {
  get(id: string): Promise<StoredCredential | null>;
}

/** In-memory store for tests and for a single-process demo. */
export class MemoryCredentialStore implements CredentialStore {
  private readonly entries = new Map<string, StoredCredential>();

  set(id: string, credential: StoredCredential): void {
    this.entries.set(id, { ...credential });
  }

  delete(id: string): void {
    this.entries.delete(id);
  }

  get(id: string): Promise<StoredCredential | null> {
    const entry = this.entries.get(id);
    return Promise.resolve(entry === undefined ? null : { ...entry });
  }
}

/** A new secret: 32 random bytes, base64url (43 characters, safe in config files and shells). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

function deriveKey(
  secret: string,
  salt: Buffer,
  n: number,
  r: number,
  p: number,
  length: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem must cover 128 * N * r bytes plus some slack (Node's default is 32 MiB).
    const maxmem = 128 * n * r * 2 + 1024 * 1024;
    scrypt(secret, salt, length, { N: n, r, p, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** Hashes `secret` with a fresh random salt: `scrypt$N$r$p$saltBase64$hashBase64`. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_BYTES);
  return ['scrypt', SCRYPT_N, SCRYPT_R, SCRYPT_P, salt.toString('base64'), key.toString('base64')].join('$');
}

interface DecodedHash {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

function parsePositiveInt(text: string | undefined, max: number): number | null {
  if (text === undefined || !/^[1-9][0-9]{0,9}$/.test(text)) return null;
  const value = Number(text);
  return value <= max ? value : null;
}

/** Decodes a stored hash; null for anything malformed (never throws). */
export function decodeHash(encoded: string): DecodedHash | null {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const n = parsePositiveInt(parts[1], MAX_N);
  const r = parsePositiveInt(parts[2], MAX_R);
  const p = parsePositiveInt(parts[3], MAX_P);
  const saltText = parts[4] ?? '';
  const keyText = parts[5] ?? '';
  if (n === null || r === null || p === null) return null;
  // N must be a power of two greater than 1 (RFC 7914 section 2).
  if (n < 2 || (n & (n - 1)) !== 0) return null;
  if (!BASE64_RE.test(saltText) || !BASE64_RE.test(keyText)) return null;
  const salt = Buffer.from(saltText, 'base64');
  const key = Buffer.from(keyText, 'base64');
  if (salt.length < SALT_BYTES || key.length < 16 || key.length > 64) return null;
  return { n, r, p, salt, key };
}

/**
 * Does `secret` match `encoded`? False for a wrong secret and for a malformed or tampered
 * encoding; never throws. The comparison of the derived keys is constant-time (timingSafeEqual).
 */
export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
  const decoded = decodeHash(encoded);
  if (decoded === null) return false;
  let candidate: Buffer;
  try {
    candidate = await deriveKey(secret, decoded.salt, decoded.n, decoded.r, decoded.p, decoded.key.length);
  } catch {
    return false;
  }
  return candidate.length === decoded.key.length && timingSafeEqual(candidate, decoded.key);
}

/**
 * A well-formed hash of a random secret nobody knows, checked when the username is unknown so that
 * an unknown gateway takes as long to refuse as a wrong secret (no user enumeration by timing).
 */
let dummyHash: Promise<string> | null = null;
export function dummyHashForTiming(): Promise<string> {
  dummyHash ??= hashSecret(generateSecret());
  return dummyHash;
}
