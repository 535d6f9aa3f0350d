/**
 * The cloud's downlink signing keys (docs/downlink-signing.md): one JSON file, mode 0600, created at
 * the first start, next to the SQLite database by default or at `downlink.signingKeyFile` (several
 * instances must share one file, or gateways would refuse what the others sign).
 *
 *   { "format": "kerbside-downlink-keys/1", "signWith": "<keyId>",
 *     "keys": [ { "keyId": "...", "publicKey": "<base64url>", "privateKey": "<PKCS#8 PEM>", "createdAt": "..." } ] }
 *
 * The file holds the key the cloud signs with (`signWith`) and, during a rotation, the next one:
 * enrollment pins every public key of the file, and every signed message announces the keys other
 * than its signer, so enrolled gateways pin the next key before the cloud signs with it.
 *
 * A private key is never logged, never put in an error message and never leaves this module except
 * as the KeyObject the signer holds. Functions here throw DownlinkError DOWNLINK_SIGNING_KEY.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { link, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  keyIdOf,
  privateKeyObject,
  rawPublicKey,
  signDownlink,
  MAX_PINNED_KEYS,
  type DownlinkChannel,
  type DownlinkSignature,
} from '../../contract/signing.js';
import { writeFileAtomic } from '../../../runtime/files.js';
import { DownlinkError } from './errors.js';

export const KEY_FILE_FORMAT = 'kerbside-downlink-keys/1';
/** File name beside the SQLite database when `downlink.signingKeyFile` is not set. */
export const DEFAULT_KEY_FILE_NAME = 'downlink-signing-key.json';

export interface StoredKey {
  keyId: string;
  publicKey: string;
  privateKey: string;
  createdAt: string;
}

export interface KeyFile {
  format: typeof KEY_FILE_FORMAT;
  signWith: string;
  keys: StoredKey[];
}

/** What the downlink services need: a signature per message, and the keys to pin. */
export interface DownlinkSigner {
  /** The message with its `sig` for `gatewayId` (signed with the active key, announcing the others). */
  sign<T extends object>(
    channel: DownlinkChannel,
    gatewayId: string,
    message: T,
  ): T & { sig: DownlinkSignature };
  /** Every public key of the key file (base64url), the active one first: what enrollment pins. */
  publicKeys(): string[];
  /** The id of the key that signs. */
  activeKeyId(): string;
}

function keyError(message: string, cause?: unknown): DownlinkError {
  return new DownlinkError('DOWNLINK_SIGNING_KEY', message, cause === undefined ? {} : { cause });
}

function newKey(now: Date): StoredKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey = rawPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    createdAt: now.toISOString(),
  };
}

/** A key file with one new key that signs (for the first start, and for tests). */
export function newKeyFile(now: Date = new Date()): KeyFile {
  const key = newKey(now);
  return { format: KEY_FILE_FORMAT, signWith: key.keyId, keys: [key] };
}

/** Parses and checks a key file's text; throws DOWNLINK_SIGNING_KEY naming the problem, never a key. */
export function parseKeyFile(path: string, text: string): KeyFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message may quote the content, i.e. a private key.
    throw keyError(`${path} is not valid JSON`);
  }
  const file = value as Partial<KeyFile>;
  if (typeof value !== 'object' || value === null || file.format !== KEY_FILE_FORMAT)
    throw keyError(`${path} is not a ${KEY_FILE_FORMAT} file`);
  if (!Array.isArray(file.keys) || file.keys.length === 0 || file.keys.length > MAX_PINNED_KEYS)
    throw keyError(`${path}: keys must list 1 to ${MAX_PINNED_KEYS} keys`);
  const keys: StoredKey[] = [];
  for (const [index, entry] of (file.keys as unknown[]).entries()) {
    const k = entry as Partial<StoredKey>;
    if (typeof k?.privateKey !== 'string' || typeof k.createdAt !== 'string')
      throw keyError(`${path}: keys[${index}] needs privateKey and createdAt`);
    let publicKey: string;
    try {
      publicKey = rawPublicKey(privateKeyObject(k.privateKey));
    } catch (error) {
      throw keyError(`${path}: keys[${index}] is not an Ed25519 PKCS#8 private key`, error);
    }
    // The public key and id are derived, never trusted from the file.
    if (k.publicKey !== publicKey || k.keyId !== keyIdOf(publicKey))
      throw keyError(`${path}: keys[${index}] publicKey or keyId does not match its private key`);
    keys.push({ keyId: k.keyId, publicKey, privateKey: k.privateKey, createdAt: k.createdAt });
  }
  if (!keys.some((k) => k.keyId === file.signWith))
    throw keyError(`${path}: signWith names no key of the file`);
  return { format: KEY_FILE_FORMAT, signWith: file.signWith as string, keys };
}

async function readKeyFile(path: string): Promise<KeyFile | null> {
  let mode: number;
  let text: string;
  try {
    mode = (await stat(path)).mode;
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw keyError(`cannot read ${path}`, error);
  }
  // Like ssh with private keys: a signing key others can read is a misconfiguration, not a warning.
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw keyError(`${path} is accessible by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
  }
  return parseKeyFile(path, text);
}

const serialise = (file: KeyFile): string => `${JSON.stringify(file, null, 2)}\n`;

/**
 * Creates the file only if it does not exist (link(2) fails with EEXIST), so two instances starting
 * together on a shared folder end up with one key: the loser reads the winner's file.
 */
async function createKeyFile(path: string, file: KeyFile): Promise<boolean> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.new-${process.pid}-${randomBytes(6).toString('hex')}`;
  await writeFileAtomic(temporary, serialise(file), 0o600);
  try {
    await link(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw keyError(`cannot create ${path}`, error);
  } finally {
    await rm(temporary, { force: true });
  }
}

/** The key file at `path`, created with a new key when there is none. */
export async function loadOrCreateKeyFile(
  path: string,
  now: Date = new Date(),
): Promise<{ file: KeyFile; created: boolean }> {
  const existing = await readKeyFile(path);
  if (existing !== null) return { file: existing, created: false };
  const fresh = newKeyFile(now);
  const created = await createKeyFile(path, fresh);
  if (created) return { file: fresh, created };
  const raced = await readKeyFile(path);
  if (raced === null) throw keyError(`${path} vanished while it was created`);
  return { file: raced, created: false };
}

/** A signer over a parsed key file. */
export function signerOf(file: KeyFile): DownlinkSigner {
  const active = file.keys.find((k) => k.keyId === file.signWith);
  if (active === undefined) throw keyError('signWith names no key of the file');
  const privateKey: KeyObject = privateKeyObject(active.privateKey);
  const others = file.keys.filter((k) => k.keyId !== active.keyId).map((k) => k.publicKey);
  const publicKeys = [active.publicKey, ...others];
  return {
    sign: (channel, gatewayId, message) => signDownlink(privateKey, channel, gatewayId, message, others),
    publicKeys: () => [...publicKeys],
    activeKeyId: () => active.keyId,
  };
}

/** Loads (or creates) the key file and returns its signer; says which key signs, never the key. */
export async function loadDownlinkSigner(
  path: string,
  logger: { info(fields: object, message: string): void },
): Promise<DownlinkSigner> {
  const { file, created } = await loadOrCreateKeyFile(path);
  const signer = signerOf(file);
  logger.info(
    { keyFile: path, keyId: signer.activeKeyId(), keys: file.keys.map((k) => k.keyId), created },
    created ? 'downlink signing key created' : 'downlink signing key loaded',
  );
  return signer;
}

// --- rotation (docs/downlink-signing.md) ----------------------------------------------------------

/** The key file at `path`; throws DOWNLINK_SIGNING_KEY when there is none (the service makes it). */
export async function requireKeyFile(path: string): Promise<KeyFile> {
  const file = await readKeyFile(path);
  if (file === null) throw keyError(`${path} does not exist: start the service once to create it`);
  return file;
}

/**
 * Step 1: adds a new key that does not sign yet. After a restart, enrollment pins it and every
 * signed message announces it. Resolves with its id.
 */
export async function prepareNextKey(path: string, now: Date = new Date()): Promise<string> {
  const file = await requireKeyFile(path);
  if (file.keys.length >= MAX_PINNED_KEYS)
    throw keyError(`${path} already holds ${MAX_PINNED_KEYS} keys: retire one first`);
  const key = newKey(now);
  await writeFileAtomic(path, serialise({ ...file, keys: [...file.keys, key] }), 0o600);
  return key.keyId;
}

/** Step 2: the cloud signs with `keyId` (after a restart); the previous key stays, announced. */
export async function activateKey(path: string, keyId: string): Promise<void> {
  const file = await requireKeyFile(path);
  if (!file.keys.some((k) => k.keyId === keyId)) throw keyError(`${path} has no key ${keyId}`);
  await writeFileAtomic(path, serialise({ ...file, signWith: keyId }), 0o600);
}

/** Step 3: removes a key that no longer signs (its private half is gone from the file). */
export async function retireKey(path: string, keyId: string): Promise<void> {
  const file = await requireKeyFile(path);
  if (file.signWith === keyId) throw keyError(`key ${keyId} signs: activate another one first`);
  if (!file.keys.some((k) => k.keyId === keyId)) throw keyError(`${path} has no key ${keyId}`);
  await writeFileAtomic(
    path,
    serialise({ ...file, keys: file.keys.filter((k) => k.keyId !== keyId) }),
    0o600,
  );
}
