/**
 * The server key of the keyed credential hashes (broker/credentials.ts): 32 random bytes made at
 * first start, kept in a file of mode 0600 (by default next to the SQLite database; several
 * instances sharing PostgreSQL point `mqtt.credentialKeyFile` at the same key). The file holds the
 * key in base64 on one line. The key is never logged: the object prints as its key id only.
 *
 * The key id is a short fingerprint (HMAC of a fixed label under the key, so it reveals nothing of
 * the key) written into every stored hash: a database used with another key file is diagnosed by
 * name at start instead of as "every gateway has a wrong secret".
 */
import { createHmac, randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { inspect } from 'node:util';
import { SecretsError } from './errors.js';

export const CREDENTIAL_KEY_BYTES = 32;
/** Hex characters of the key id: 48 bits tell keys apart; it is a label, not a secret. */
const KEY_ID_HEX = 12;
/** Domain separation (RFC 2104 leaves it to the caller): the id and the hashes never collide. */
const KEY_ID_LABEL = 'kerbside credential key id';
const CREDENTIAL_LABEL = 'kerbside mqtt credential\0';

export class CredentialKey {
  /** Fingerprint of the key, part of every hash made with it. */
  readonly id: string;
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    if (key.length !== CREDENTIAL_KEY_BYTES) {
      throw new SecretsError('CREDENTIAL_KEY_INVALID', `a credential key is ${CREDENTIAL_KEY_BYTES} bytes`);
    }
    this.#key = Buffer.from(key);
    this.id = createHmac('sha256', this.#key).update(KEY_ID_LABEL).digest('hex').slice(0, KEY_ID_HEX);
  }

  static fromBytes(key: Buffer): CredentialKey {
    return new CredentialKey(key);
  }

  /** A fresh random key held in memory only (tests, and hashes nobody else must verify). */
  static generate(): CredentialKey {
    return new CredentialKey(randomBytes(CREDENTIAL_KEY_BYTES));
  }

  /** HMAC-SHA-256 (RFC 2104, FIPS 180-4) of a credential secret under this key. */
  mac(secret: string): Buffer {
    return createHmac('sha256', this.#key).update(CREDENTIAL_LABEL).update(secret, 'utf8').digest();
  }

  /** What a log line, JSON.stringify or util.inspect shows: the id, never the key. */
  toJSON(): { keyId: string } {
    return { keyId: this.id };
  }

  [inspect.custom](): string {
    return `CredentialKey(${this.id})`;
  }
}

const KEY_FILE_RE = /^([A-Za-z0-9+/]{43}=)\s*$/;

function keyFileError(path: string, why: string): SecretsError {
  return new SecretsError('CREDENTIAL_KEY_INVALID', `credential key file ${path}: ${why}`);
}

/** Reads an existing key file; null when there is none. Refuses one that group or others can read. */
export async function readCredentialKey(path: string): Promise<CredentialKey | null> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw keyFileError(path, `cannot read it: ${(error as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw keyFileError(
      path,
      `is readable or writable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw keyFileError(path, `cannot read it: ${(error as Error).message}`);
  }
  const match = KEY_FILE_RE.exec(text);
  if (match === null) {
    // The content is not echoed: a damaged key file may still hold most of the key.
    throw keyFileError(path, `must hold ${CREDENTIAL_KEY_BYTES} bytes in base64 on one line`);
  }
  return CredentialKey.fromBytes(Buffer.from(match[1] ?? '', 'base64'));
}

/**
 * Creates a key file with a fresh key: folder 0700, file 0600. The key is written to a temporary
 * file that is then hard-linked to `path` (link(2) fails when `path` exists), so the file appears
 * whole or not at all. When another process created it first (two instances starting at once),
 * that key is read and returned instead.
 */
export async function createCredentialKey(path: string): Promise<CredentialKey> {
  const bytes = randomBytes(CREDENTIAL_KEY_BYTES);
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(`${bytes.toString('base64')}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      const existing = await readCredentialKey(path);
      if (existing !== null) return existing;
    }
    throw keyFileError(path, `cannot create it: ${(error as Error).message}`);
  } finally {
    await rm(temporary, { force: true });
  }
  return CredentialKey.fromBytes(bytes);
}

/** The key in `path`, created there first when the file does not exist. */
export async function loadOrCreateCredentialKey(path: string): Promise<CredentialKey> {
  return (await readCredentialKey(path)) ?? createCredentialKey(path);
}
