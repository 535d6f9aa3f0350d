/**
 * Per-gateway (and per-service-account) MQTT credentials (docs/uplink-contract.md,
 * "Authentication"). The plain secret exists twice: once in the enrollment response, once in the
 * gateway's own configuration. The cloud keeps a keyed hash, `hmac-sha256$<keyId>$<base64>`:
 * HMAC-SHA-256 (RFC 2104) under the server's credential key (secrets/credential-key.ts).
 *
 * Why not a slow KDF: the secrets are 32 random bytes (256 bits), which no offline guessing can
 * reach, so stretching them protects nothing, while running scrypt on every CONNECT let junk
 * connections (unknown names included) starve the service's thread pool (docs/security.md). An
 * HMAC costs microseconds; the key adds that a leaked credential table alone does not even allow
 * checking a guess. Slow KDFs stay for human passwords (auth/passwords.ts).
 *
 * Rows written before keyed hashes hold `scrypt$N$r$p$salt$hash`. They cannot be converted without
 * the secret, so they are still verified (with scrypt) and rewritten to the keyed form on the
 * first successful CONNECT (CredentialStore.upgrade).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { CredentialKey } from '../secrets/credential-key.js';
import { verifyScrypt } from '../../../runtime/scrypt.js';

export const HMAC_SCHEME = 'hmac-sha256';
const MAC_BYTES = 32;
const HMAC_RE = /^hmac-sha256\$([0-9a-f]{12})\$([A-Za-z0-9+/]{43}=)$/;
const LEGACY_PREFIX = 'scrypt$';

/** The stored form of one credential: the encoded hash and whether it may still connect. */
export interface StoredCredential {
  hash: string;
  disabled: boolean;
}

/**
 * Where the broker looks credentials up. Keyed by gateway id (or by service account name in the
 * service-account store).
 */
export interface CredentialStore {
  get(id: string): Promise<StoredCredential | null>;
  /**
   * Replaces the hash `from` by `to` if the row still holds `from` (a rotation meanwhile wins).
   * Called after a legacy hash verified, to store the keyed form; a store without it keeps the
   * legacy form (and every CONNECT of that client keeps costing scrypt).
   */
  upgrade?(id: string, from: string, to: string): Promise<void>;
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

  upgrade(id: string, from: string, to: string): Promise<void> {
    const entry = this.entries.get(id);
    if (entry?.hash === from) entry.hash = to;
    return Promise.resolve();
  }
}

/** A new secret: 32 random bytes, base64url (43 characters, safe in config files and shells). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The stored form of `secret` under `key`: `hmac-sha256$<keyId>$<base64>`. */
export function hashSecret(secret: string, key: CredentialKey): string {
  return `${HMAC_SCHEME}$${key.id}$${key.mac(secret).toString('base64')}`;
}

/** The key id a keyed hash was made with; null for a legacy or malformed hash. */
export function keyIdOf(encoded: string): string | null {
  return HMAC_RE.exec(encoded)?.[1] ?? null;
}

export function isLegacyHash(encoded: string): boolean {
  return encoded.startsWith(LEGACY_PREFIX);
}

export type SecretCheck =
  /** `upgrade`: the keyed hash to store instead of a legacy one that verified; else null. */
  { ok: true; upgrade: string | null } | { ok: false; reason: string };

/** A MAC nobody's secret has, compared against when there is nothing real to compare with. */
const NO_MAC = Buffer.alloc(MAC_BYTES);

/**
 * Checks `secret` against a stored hash; never throws. A keyed hash costs one HMAC and a
 * constant-time comparison (timingSafeEqual); a legacy scrypt hash costs scrypt.
 */
export async function checkSecret(secret: string, encoded: string, key: CredentialKey): Promise<SecretCheck> {
  const match = HMAC_RE.exec(encoded);
  if (match !== null) {
    const candidate = key.mac(secret);
    if (match[1] !== key.id) {
      // Same work as a real comparison, then the diagnosis (enrollment/credential-key.ts).
      timingSafeEqual(candidate, NO_MAC);
      return { ok: false, reason: `hashed with credential key ${match[1] ?? '?'}, not ${key.id}` };
    }
    const stored = Buffer.from(match[2] ?? '', 'base64');
    const ok = stored.length === MAC_BYTES && timingSafeEqual(candidate, stored);
    return ok ? { ok: true, upgrade: null } : { ok: false, reason: 'wrong secret' };
  }
  if (isLegacyHash(encoded)) {
    return (await verifyScrypt(secret, encoded))
      ? { ok: true, upgrade: hashSecret(secret, key) }
      : { ok: false, reason: 'wrong secret' };
  }
  key.mac(secret);
  return { ok: false, reason: 'malformed stored hash' };
}

/** Does `secret` match `encoded` under `key`? (checkSecret without the details.) */
export async function verifySecret(secret: string, encoded: string, key: CredentialKey): Promise<boolean> {
  return (await checkSecret(secret, encoded, key)).ok;
}

export type Authentication =
  | { result: 'unknown' }
  | { result: 'refused'; reason: string }
  /** `hash`: the hash stored now, the keyed one when a legacy hash was just upgraded. */
  | { result: 'ok'; disabled: boolean; hash: string };

/**
 * Looks `id` up and checks `secret`. An unknown id costs one HMAC like a known one, so it cannot
 * be told apart by timing, and never costs the slow KDF. A legacy hash that verifies is replaced
 * by its keyed form (store.upgrade) before this returns; a failing upgrade is thrown, like a
 * failing lookup.
 */
export async function authenticateSecret(
  store: CredentialStore,
  id: string,
  secret: string,
  key: CredentialKey,
): Promise<Authentication> {
  const stored = await store.get(id);
  if (stored === null) {
    timingSafeEqual(key.mac(secret), NO_MAC);
    return { result: 'unknown' };
  }
  const check = await checkSecret(secret, stored.hash, key);
  if (!check.ok) return { result: 'refused', reason: check.reason };
  if (check.upgrade === null || store.upgrade === undefined) {
    return { result: 'ok', disabled: stored.disabled, hash: stored.hash };
  }
  await store.upgrade(id, stored.hash, check.upgrade);
  return { result: 'ok', disabled: stored.disabled, hash: check.upgrade };
}
