/**
 * The production wiring of the service's dependencies, shared by `npm run cloud` (main.ts) and the
 * demo: gateways authenticate against the credentials enrollment issued (stored hashed), and the
 * enrollment route is served on the HTTP API (api/build.ts).
 */
import type { Logger } from 'pino';
import { DbGatewayCredentialStore } from './enrollment/store.js';
import type { CloudServiceDeps } from './service.js';

export function productionDeps(logger: Logger): CloudServiceDeps {
  return {
    logger,
    credentials: ({ db }) => new DbGatewayCredentialStore(db),
    enrollment: true,
  };
}
