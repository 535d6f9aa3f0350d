/**
 * The cloud's HTTP API, assembled in one place: every route plugin, registered on an app from
 * buildHttpApp (http.ts) with the dependencies it needs. startCloudService (service.ts) serves
 * this assembly, and the route tests inject against the very same one, so what they exercise is
 * the real guard (auth/plugin.ts), the request rules and error answers of http.ts, and the
 * OpenAPI document, not a hand-built copy of them.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { authPlugin, type AuthLogger } from '../auth/plugin.js';
import { authRoutes } from '../auth/routes.js';
import type { WorkingCalendar } from '../cases/calendar.js';
import type { CasesConfig } from '../cases/config.js';
import type { CaseLogger } from '../cases/filing.js';
import { kpiRoutes } from '../cases/kpi-routes.js';
import { caseRoutes } from '../cases/routes.js';
import type { CloudSchema } from '../db/schema.js';
import { deadLetterRoutes } from '../dead-letters/routes.js';
import type { CommandService } from '../downlink/commands.js';
import type { ConfigDocumentService } from '../downlink/config-documents.js';
import { downlinkRoutes } from '../downlink/routes.js';
import { enrollmentRoutes, type EnrollmentRoutesOptions } from '../enrollment/routes.js';
import { registryRoutes } from '../registry/routes.js';
import { SharedRateLimiter } from './rate-limits.js';

/** What the API's route plugins need, by area. */
export interface ApiDeps {
  db: Kysely<CloudSchema>;
  /** Clock of sessions, audit rows, deadlines, the registry and KPIs (tests); the wall clock by default. */
  now?: () => Date;
  /**
   * Sign-in, accounts, the audit query and the guard on every route (docs/auth.md).
   * `insecureCookies`: the session cookie without Secure (setting http.insecureCookies, loopback
   * HTTP only).
   */
  auth: { logger: AuthLogger; insecureCookies?: boolean };
  /** The case workflow, KPIs and the component registry (docs/cases.md). */
  cases: { config: CasesConfig; calendar: WorkingCalendar; logger: CaseLogger };
  /** Commands and configuration documents to gateways (docs/downlink.md). */
  downlink: { commands: CommandService; configs: ConfigDocumentService };
  /**
   * `POST /api/v1/enroll` (docs/enrollment.md): what a redeemed token hands to the gateway.
   * Absent: the route is not served. Its clock is its own, not `now`: tokens are issued by
   * `cloud-admin` on the wall clock.
   */
  enrollment?: Pick<
    EnrollmentRoutesOptions,
    'mqttUrl' | 'caBundle' | 'downlinkKeys' | 'credentialKey' | 'logger' | 'now'
  >;
}

/** Registers every API route plugin on `app` (from buildHttpApp), before it listens or is injected. */
export async function buildApi(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db } = deps;
  const clock = deps.now === undefined ? {} : { now: deps.now };
  // The guard first: it refuses to register a route without an access rule, and guards only the
  // routes registered after it (docs/auth.md).
  const insecureCookies = deps.auth.insecureCookies === true;
  // The rate limits of sign-in and enrollment, counted in the database (shared by instances).
  const limiter = new SharedRateLimiter(db, deps.now);
  await app.register(authPlugin, { db, logger: deps.auth.logger, insecureCookies, ...clock });
  await app.register(authRoutes, { db, logger: deps.auth.logger, limiter, insecureCookies, ...clock });
  const { config, calendar } = deps.cases;
  await app.register(caseRoutes, { db, config, calendar, logger: deps.cases.logger, ...clock });
  await app.register(kpiRoutes, { db, calendar, ...clock });
  await app.register(registryRoutes, { db, config, ...clock });
  await app.register(downlinkRoutes, { db, ...deps.downlink });
  await app.register(deadLetterRoutes, { db });
  const enrollment = deps.enrollment;
  if (enrollment !== undefined) {
    await app.register(enrollmentRoutes, { db, limiter, ...enrollment });
  }
}
