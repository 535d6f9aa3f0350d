/**
 * scrypt (RFC 7914) in the self-describing form `scrypt$N$r$p$saltBase64$keyBase64`: the slow,
 * memory-hard KDF kept for human passwords (the cloud's operators, cloud-sync/service/auth/passwords.ts;
 * the cabinet's web users, gateway/web/accounts/passwords.ts) and for verifying the cloud's legacy
 * gateway and service-account rows written before keyed hashes (broker/credentials.ts). Every run
 * is counted (slowKdfRuns), so a test can prove that a path does not reach it. In runtime/ because
 * both programs hash passwords and neither may import the other; it imports nothing of ours.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  n: number;
  r: number;
  p: number;
}

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/**
 * Upper bounds accepted when decoding a stored hash, so a tampered row cannot make one check take
 * gigabytes: 128 * N * r bytes (RFC 7914 section 5, ROMix) stays at or below 256 MiB.
 */
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

let runs = 0;

/** How many scrypt derivations this process has started (tests: "the slow hash did not run"). */
export function slowKdfRuns(): number {
  return runs;
}

/** Bytes scrypt needs for `params` (RFC 7914 section 5: V is N blocks of 128 * r bytes). */
export function scryptMemory(params: ScryptParams): number {
  return 128 * params.n * params.r;
}

function derive(secret: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  runs += 1;
  return new Promise((resolve, reject) => {
    // Node refuses when 128 * N * r exceeds maxmem (default 32 MiB): allow the block array plus
    // slack for the p * 128 * r bytes of B and Node's own bookkeeping.
    const maxmem = scryptMemory(params) + 128 * params.r * params.p + 16 * 1024 * 1024;
    scrypt(secret, salt, length, { N: params.n, r: params.r, p: params.p, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** `secret` hashed with a fresh random salt: `scrypt$N$r$p$saltBase64$keyBase64`. */
export async function scryptHash(secret: string, params: ScryptParams): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(secret, salt, params, KEY_BYTES);
  return ['scrypt', params.n, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export interface DecodedScrypt extends ScryptParams {
  salt: Buffer;
  key: Buffer;
}

const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

function parsePositiveInt(text: string | undefined, max: number): number | null {
  if (text === undefined || !/^[1-9][0-9]{0,9}$/.test(text)) return null;
  const value = Number(text);
  return value <= max ? value : null;
}

/** Decodes a stored scrypt hash; null for anything malformed or too costly (never throws). */
export function decodeScrypt(encoded: string): DecodedScrypt | null {
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
  if (scryptMemory({ n, r, p }) > MAX_MEMORY_BYTES) return null;
  if (!BASE64_RE.test(saltText) || !BASE64_RE.test(keyText)) return null;
  const salt = Buffer.from(saltText, 'base64');
  const key = Buffer.from(keyText, 'base64');
  if (salt.length < SALT_BYTES || key.length < 16 || key.length > 64) return null;
  return { n, r, p, salt, key };
}

/**
 * Does `secret` match the scrypt hash `encoded`? False for a wrong secret and for a malformed or
 * tampered encoding; never throws. The derived keys are compared in constant time (timingSafeEqual).
 */
export async function verifyScrypt(secret: string, encoded: string): Promise<boolean> {
  const decoded = decodeScrypt(encoded);
  if (decoded === null) return false;
  let candidate: Buffer;
  try {
    candidate = await derive(secret, decoded.salt, decoded, decoded.key.length);
  } catch {
    return false;
  }
  return candidate.length === decoded.key.length && timingSafeEqual(candidate, decoded.key);
}

/** Is `encoded` a scrypt hash weaker than `target` in any parameter (so it should be redone)? */
export function isWeakerThan(encoded: string, target: ScryptParams): boolean {
  const decoded = decodeScrypt(encoded);
  if (decoded === null) return true;
  return decoded.n < target.n || decoded.r < target.r || decoded.p < target.p;
}
