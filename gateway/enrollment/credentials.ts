/**
 * The gateway's uplink credential on disk (docs/enrollment.md):
 *   `<dataDir>/uplink-credentials.json` (mode 0600):
 *     `{gatewayId, mqtt: {url, username, password, clientId}, downlinkKeys: [...]}`
 *   `downlinkKeys`: the cloud's Ed25519 public keys pinned at enrollment (docs/downlink-signing.md);
 *     a file written before signed downlink has none, and that gateway refuses every command.
 *   `<dataDir>/uplink-ca.pem`: the CA the broker's certificate must chain to, when the cloud sent one.
 * Both are replaced atomically (temporary file, fsync, rename), so a power cut during enrollment
 * leaves either the old credential or the new one, never half of either.
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_PINNED_KEYS, publicKeyObject } from '../../cloud-sync/contract/signing.js';
import { gatewayClientId, isGatewayId } from '../../cloud-sync/contract/topics.js';
import type { UplinkOptions } from '../uplink/uplink.js';
import { GatewayEnrollmentError } from './errors.js';
import { writeFileAtomic } from '../../runtime/files.js';

export const CREDENTIALS_FILE = 'uplink-credentials.json';
export const CA_FILE = 'uplink-ca.pem';

export interface UplinkMqttCredentials {
  url: string;
  username: string;
  password: string;
  clientId: string;
}

export interface UplinkCredentials {
  gatewayId: string;
  mqtt: UplinkMqttCredentials;
  /**
   * The cloud's downlink public keys (base64url Ed25519), pinned at enrollment and by signed
   * announcements; empty for a file written before signed downlink (docs/downlink-signing.md).
   */
  downlinkKeys: string[];
}

export interface LoadedUplinkCredentials extends UplinkCredentials {
  /** PEM of `uplink-ca.pem`, or null when there is none (the system trust store applies). */
  caPem: string | null;
  /** Absolute path of the CA file, or null. */
  caFile: string | null;
}

/**
 * The connection settings of the uplink from an enrolled credential: one mapping for the gateway's
 * main and the demo.
 */
export function uplinkConnection(
  credentials: LoadedUplinkCredentials,
): Pick<UplinkOptions, 'gatewayId' | 'url' | 'username' | 'password' | 'ca' | 'downlinkKeys'> {
  return {
    gatewayId: credentials.gatewayId,
    url: credentials.mqtt.url,
    username: credentials.mqtt.username,
    password: credentials.mqtt.password,
    downlinkKeys: [...credentials.downlinkKeys],
    ...(credentials.caPem === null ? {} : { ca: credentials.caPem }),
  };
}

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

export function looksLikePemCertificates(text: string): boolean {
  return PEM_CERT_RE.test(text);
}

/**
 * Problems with a list of downlink public keys: 1 to MAX_PINNED_KEYS valid Ed25519 keys. A missing
 * list is a problem only when `required` (an enrollment answer; an old credentials file has none).
 */
export function downlinkKeyProblems(value: unknown, required: boolean): string[] {
  if (value === undefined)
    return required ? ['downlinkKeys: missing (the cloud predates signed downlink)'] : [];
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_PINNED_KEYS)
    return [`downlinkKeys: not a list of 1 to ${MAX_PINNED_KEYS} keys`];
  const problems: string[] = [];
  for (const [index, key] of (value as unknown[]).entries()) {
    try {
      publicKeyObject(key as string);
    } catch {
      problems.push(`downlinkKeys[${index}]: not an Ed25519 public key (43 base64url characters)`);
    }
  }
  return problems;
}

/**
 * Problems with a credentials object, as `field: problem` strings; empty when valid. Shared by
 * the enrollment response check and the loader, so both refuse the same things.
 */
export function credentialProblems(value: unknown): string[] {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['not a JSON object'];
  const record = value as Record<string, unknown>;
  const gatewayId = record.gatewayId;
  if (!isGatewayId(gatewayId)) problems.push('gatewayId: not a valid gateway id');
  const mqtt = record.mqtt;
  if (typeof mqtt !== 'object' || mqtt === null || Array.isArray(mqtt)) {
    problems.push('mqtt: missing or not an object');
    return problems;
  }
  const m = mqtt as Record<string, unknown>;
  if (typeof m.url !== 'string' || !/^mqtts?:\/\/[^\s]+$/.test(m.url) || !URL.canParse(m.url)) {
    problems.push('mqtt.url: not an mqtt:// or mqtts:// URL');
  }
  if (typeof m.password !== 'string' || m.password.length < 16 || m.password.length > 1024) {
    problems.push('mqtt.password: missing or not 16 to 1024 characters');
  }
  if (isGatewayId(gatewayId)) {
    if (m.username !== gatewayId) problems.push('mqtt.username: must equal gatewayId');
    if (m.clientId !== gatewayClientId(gatewayId)) problems.push(`mqtt.clientId: must be gw-${gatewayId}`);
  }
  problems.push(...downlinkKeyProblems(record.downlinkKeys, false));
  return problems;
}

/**
 * Stores a credential (and CA bundle) in `dataDir`. The CA is written first: the credentials
 * file is what says "enrolled", so it must never point at a CA that is not there yet. Without a
 * CA bundle any old `uplink-ca.pem` is removed, so a stale CA cannot pin the wrong server.
 */
export async function writeUplinkCredentials(
  dataDir: string,
  credentials: UplinkCredentials,
  caBundle: string | null,
): Promise<{ credentialsFile: string; caFile: string | null }> {
  const problems = credentialProblems(credentials);
  if (problems.length > 0) {
    throw new GatewayEnrollmentError(
      'ENROLL_BAD_RESPONSE',
      `refusing to store credentials: ${problems.join('; ')}`,
    );
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const caFile = join(dataDir, CA_FILE);
  if (caBundle === null) await rm(caFile, { force: true });
  else await writeFileAtomic(caFile, caBundle.endsWith('\n') ? caBundle : `${caBundle}\n`, 0o644);
  const credentialsFile = join(dataDir, CREDENTIALS_FILE);
  const document: UplinkCredentials = {
    gatewayId: credentials.gatewayId,
    mqtt: {
      url: credentials.mqtt.url,
      username: credentials.mqtt.username,
      password: credentials.mqtt.password,
      clientId: credentials.mqtt.clientId,
    },
    downlinkKeys: [...credentials.downlinkKeys],
  };
  // writeFileAtomic syncs the directory, so the rename (and the CA's, or its removal) is durable.
  await writeFileAtomic(credentialsFile, `${JSON.stringify(document, null, 2)}\n`, 0o600);
  return { credentialsFile, caFile: caBundle === null ? null : caFile };
}

/**
 * Reads and validates the credential the uplink connects with. Throws GatewayEnrollmentError
 * UPLINK_CREDENTIALS_MISSING when the gateway was never enrolled, UPLINK_CREDENTIALS_INVALID
 * (with every problem named, never the secret) when the file is unusable.
 */
export async function loadUplinkCredentials(dataDir: string): Promise<LoadedUplinkCredentials> {
  const credentialsFile = join(dataDir, CREDENTIALS_FILE);
  let text: string;
  let mode: number;
  try {
    mode = (await stat(credentialsFile)).mode;
    text = await readFile(credentialsFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new GatewayEnrollmentError(
        'UPLINK_CREDENTIALS_MISSING',
        `${credentialsFile} does not exist: enroll this gateway first (npm run enroll -- --url <cloud> --token <token> --data-dir ${dataDir})`,
      );
    }
    throw new GatewayEnrollmentError('UPLINK_CREDENTIALS_INVALID', `cannot read ${credentialsFile}`, {
      cause: error,
    });
  }
  // Like ssh with private keys: a secret readable by other users is a misconfiguration.
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new GatewayEnrollmentError(
      'UPLINK_CREDENTIALS_INVALID',
      `${credentialsFile} is accessible by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 it`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message may quote the file's content, i.e. the secret: not passed on.
    throw new GatewayEnrollmentError('UPLINK_CREDENTIALS_INVALID', `${credentialsFile} is not valid JSON`);
  }
  const problems = credentialProblems(parsed);
  if (problems.length > 0) {
    throw new GatewayEnrollmentError(
      'UPLINK_CREDENTIALS_INVALID',
      `${credentialsFile} is invalid: ${problems.join('; ')}`,
    );
  }
  const credentials = parsed as Omit<UplinkCredentials, 'downlinkKeys'> & { downlinkKeys?: string[] };
  const caFile = join(dataDir, CA_FILE);
  let caPem: string | null = null;
  try {
    caPem = await readFile(caFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new GatewayEnrollmentError('UPLINK_CREDENTIALS_INVALID', `cannot read ${caFile}`, {
        cause: error,
      });
    }
  }
  if (caPem !== null && !looksLikePemCertificates(caPem)) {
    throw new GatewayEnrollmentError('UPLINK_CREDENTIALS_INVALID', `${caFile} holds no PEM certificate`);
  }
  return {
    gatewayId: credentials.gatewayId,
    mqtt: { ...credentials.mqtt },
    downlinkKeys: [...(credentials.downlinkKeys ?? [])],
    caPem,
    caFile: caPem === null ? null : caFile,
  };
}

/**
 * Adds announced downlink keys to the pinned ones in the credentials file (docs/downlink-signing.md,
 * rotation): the file is read, the keys appended (at most MAX_PINNED_KEYS in all) and written back
 * atomically, mode 0600. Resolves with the keys pinned now. Only keys announced inside a message
 * that verified under a key already pinned get here (gateway/downlink/signature.ts).
 */
export async function pinDownlinkKeys(dataDir: string, announced: readonly string[]): Promise<string[]> {
  const current = await loadUplinkCredentials(dataDir);
  const keys = [...current.downlinkKeys];
  for (const key of announced) if (!keys.includes(key) && keys.length < MAX_PINNED_KEYS) keys.push(key);
  if (keys.length === current.downlinkKeys.length) return keys;
  const problems = downlinkKeyProblems(keys, true);
  if (problems.length > 0)
    throw new GatewayEnrollmentError('UPLINK_CREDENTIALS_INVALID', `refusing to pin: ${problems.join('; ')}`);
  const document: UplinkCredentials = {
    gatewayId: current.gatewayId,
    mqtt: current.mqtt,
    downlinkKeys: keys,
  };
  await writeFileAtomic(join(dataDir, CREDENTIALS_FILE), `${JSON.stringify(document, null, 2)}\n`, 0o600);
  return keys;
}
