/**
 * Shared pieces of the enrollment tests: a migrated SQLite database in a temp dir, the cloud's
 * enrollment routes on a real loopback HTTP or HTTPS socket, a test CA with a server certificate
 * (selfsigned), and a logger that keeps what it was told.
 */
import { openTempCloudDb, type TempCloudDb } from '../../../helpers/cloud-db.js';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { Registry } from 'prom-client';
import { generate } from 'selfsigned';
import type { CloudSchema } from '../../../../cloud-sync/service/db/schema.js';
import type { EnrollmentLogger } from '../../../../cloud-sync/service/enrollment/redeem.js';
import { enrollmentRoutes } from '../../../../cloud-sync/service/enrollment/routes.js';
import { newKeyFile, signerOf } from '../../../../cloud-sync/service/downlink/signing-key.js';
import { buildHttpApp } from '../../../../cloud-sync/service/http.js';
import { CredentialKey } from '../../../../cloud-sync/service/secrets/credential-key.js';

export interface LogLine {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

export class MemoryLogger implements EnrollmentLogger {
  readonly lines: LogLine[] = [];
  info(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
}

export type { TempCloudDb as TempDb } from '../../../helpers/cloud-db.js';

/** A fresh migrated database in its own temp dir (test/helpers/cloud-db.ts). */
export const openTempDb = (prefix = 'kerbside-enroll-'): Promise<TempCloudDb> => openTempCloudDb(prefix);

export interface TestCa {
  caCert: string;
  serverKey: string;
  serverCert: string;
}

/** A CA and a server certificate for `localhost` / 127.0.0.1 signed by it. */
export async function makeTestCa(): Promise<TestCa> {
  const notAfterDate = new Date(Date.now() + 24 * 3600_000);
  const ca = await generate([{ name: 'commonName', value: 'Kerbside Test CA' }], {
    algorithm: 'sha256',
    keyType: 'ec',
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    algorithm: 'sha256',
    keyType: 'ec',
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
  });
  return { caCert: ca.cert, serverKey: server.private, serverCert: server.cert };
}

/** The credential key of the enrollment tests (broker/credentials.ts): one per test process. */
export const TEST_CREDENTIAL_KEY = CredentialKey.generate();

export interface EnrollmentServer {
  app: FastifyInstance;
  /** Base URL, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  close(): Promise<void>;
}

export async function startEnrollmentServer(options: {
  db: Kysely<CloudSchema>;
  logger: EnrollmentLogger;
  mqttUrl?: string;
  caBundle?: string | null;
  /** The downlink public keys the answer carries (docs/downlink-signing.md); default: a fresh key. */
  downlinkKeys?: readonly string[];
  /** The key issued credentials are hashed with; default TEST_CREDENTIAL_KEY. */
  credentialKey?: CredentialKey;
  tls?: { key: string; cert: string };
  now?: () => Date;
  /**
   * Attempts per address and window. The functional suites send many requests from 127.0.0.1 to
   * one server, so they raise it; the rate-limit test keeps the default.
   */
  rateLimit?: { max: number; timeWindowMs: number };
}): Promise<EnrollmentServer> {
  // The service's HTTP app, whose request rules (validators, error answers) the route relies on.
  const app = buildHttpApp({
    registry: new Registry(),
    health: async () => ({ database: { ok: true }, mqtt: { ok: true } }),
    ...(options.tls ? { https: { key: options.tls.key, cert: options.tls.cert } } : {}),
  });
  await app.register(enrollmentRoutes, {
    db: options.db,
    mqttUrl: options.mqttUrl ?? 'mqtts://mqtt.test.invalid:8883',
    caBundle: options.caBundle ?? null,
    downlinkKeys: options.downlinkKeys ?? signerOf(newKeyFile()).publicKeys(),
    credentialKey: options.credentialKey ?? TEST_CREDENTIAL_KEY,
    logger: options.logger,
    ...(options.now === undefined ? {} : { now: options.now }),
    rateLimit: options.rateLimit ?? { max: 1_000, timeWindowMs: 60_000 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  const scheme = options.tls ? 'https' : 'http';
  // `localhost` so the certificate's name matches; the server listens on 127.0.0.1 only.
  const host = options.tls ? 'localhost' : '127.0.0.1';
  return { app, url: `${scheme}://${host}:${address.port}/`, close: () => app.close() };
}

/** POSTs raw `body` to the enrollment endpoint over a real socket. */
export async function postEnroll(
  baseUrl: string,
  body: string,
  contentType = 'application/json',
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const response = await fetch(new URL('api/v1/enroll', baseUrl), {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json, headers: response.headers };
}
