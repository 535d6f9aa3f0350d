/**
 * The real API assembly for route tests: an app from buildHttpApp (http.ts) with every route
 * plugin registered by buildApi (api/build.ts), exactly as startCloudService serves them, so a
 * route test goes through the real guard, request rules, error answers and OpenAPI document. A
 * test gives only what it cares about; the rest is what a fresh service has: DEFAULT_CASES_CONFIG
 * and its calendar, silent loggers, downlink services whose publisher has no broker behind it, and
 * no enrollment route. Usage:
 *
 *   const app = await buildTestApi(db, { now: () => clock });
 *   const { headers } = await signIn(db, { username: 'disp.wang', roles: ['dispatcher'] });
 *   await app.inject({ method: 'GET', url: '/api/v1/cases', headers });
 *
 * A test that needs a hook on the app before the routes are registered builds the two halves
 * itself: `buildApi(testHttpApp(), testApiDeps(db, options))`.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { Registry } from 'prom-client';
import { buildApi, type ApiDeps } from '../../../../cloud-sync/service/api/build.js';
import type { AuthLogger } from '../../../../cloud-sync/service/auth/plugin.js';
import { WorkingCalendar } from '../../../../cloud-sync/service/cases/calendar.js';
import { DEFAULT_CASES_CONFIG } from '../../../../cloud-sync/service/cases/config.js';
import type { CloudSchema } from '../../../../cloud-sync/service/db/schema.js';
import { CommandService } from '../../../../cloud-sync/service/downlink/commands.js';
import { ConfigDocumentService } from '../../../../cloud-sync/service/downlink/config-documents.js';
import type { DownlinkPublisher } from '../../../../cloud-sync/service/downlink/publisher.js';
import { buildHttpApp } from '../../../../cloud-sync/service/http.js';
import { newKeyFile, signerOf } from '../../../../cloud-sync/service/downlink/signing-key.js';

export interface TestApiOptions {
  /** The clock of every route plugin (sessions, audit, deadlines, KPIs). */
  now?: () => Date;
  /** The guard's and the auth routes' logger (an auth/harness.ts MemoryLogger keeps error lines). */
  authLogger?: AuthLogger;
  /** Any of the case area's dependencies; the calendar defaults to the config's. */
  cases?: Partial<ApiDeps['cases']>;
  downlink?: ApiDeps['downlink'];
  /** Serves `POST /api/v1/enroll` with these. */
  enrollment?: ApiDeps['enrollment'];
}

const silent = pino({ level: 'silent' });

/** Signs what a route test would publish (docs/downlink-signing.md); nothing is published here. */
const TEST_SIGNER = signerOf(newKeyFile());

/** Stands in for the consumer's MQTT session where a test publishes nothing. */
const NO_BROKER: DownlinkPublisher = {
  publish: () => Promise.reject(new Error('no broker in this test')),
};

/** The scrape token of testHttpApp (and of service-helpers.ts testConfig). */
export const TEST_SCRAPE_TOKEN = 'test-scrape-token-0123456789abcdef';
/** Headers that pass the scrape guard of /metrics and the OpenAPI document (api/scrape-token.ts). */
export const SCRAPE_HEADERS = { authorization: `Bearer ${TEST_SCRAPE_TOKEN}` } as const;

/**
 * An app from buildHttpApp with a fresh metrics registry, a healthy /healthz and TEST_SCRAPE_TOKEN;
 * no API yet.
 */
export function testHttpApp(): FastifyInstance {
  return buildHttpApp({
    registry: new Registry(),
    health: async () => ({ database: { ok: true }, mqtt: { ok: true } }),
    scrapeToken: TEST_SCRAPE_TOKEN,
  });
}

/** The deps of buildApi: the options given, defaults for the rest. */
export function testApiDeps(db: Kysely<CloudSchema>, options: TestApiOptions = {}): ApiDeps {
  const clock = options.now === undefined ? {} : { now: options.now };
  const config = options.cases?.config ?? DEFAULT_CASES_CONFIG;
  const downlink = options.downlink ?? {
    commands: new CommandService({ db, publisher: NO_BROKER, signer: TEST_SIGNER, logger: silent, ...clock }),
    configs: new ConfigDocumentService({
      db,
      publisher: NO_BROKER,
      signer: TEST_SIGNER,
      logger: silent,
      ...clock,
    }),
  };
  return {
    db,
    ...clock,
    auth: { logger: options.authLogger ?? silent },
    cases: {
      config,
      calendar: options.cases?.calendar ?? new WorkingCalendar(config.calendar),
      logger: options.cases?.logger ?? silent,
    },
    downlink,
    ...(options.enrollment === undefined ? {} : { enrollment: options.enrollment }),
  };
}

/** The whole API on a fresh app (routes may still be added: it is not ready yet). */
export async function buildTestApi(
  db: Kysely<CloudSchema>,
  options: TestApiOptions = {},
): Promise<FastifyInstance> {
  const app = testHttpApp();
  await buildApi(app, testApiDeps(db, options));
  return app;
}
