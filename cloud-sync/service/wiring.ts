/**
 * The production wiring of the service's dependencies, shared by `npm run cloud` (main.ts) and the
 * demo: gateways authenticate against the credentials enrollment issued (stored hashed), and the
 * enrollment route is served on the HTTP API.
 */
import type { Logger } from 'pino';
import { DbGatewayCredentialStore } from './enrollment/store.js';
import { enrollmentRoutes } from './enrollment/routes.js';
import type { CloudServiceDeps } from './service.js';

export function productionDeps(logger: Logger): CloudServiceDeps {
  return {
    logger,
    credentials: ({ db }) => new DbGatewayCredentialStore(db),
    httpRoutes: async (app, { db, gatewayMqttUrl, caBundle }) => {
      await app.register(enrollmentRoutes, {
        db,
        mqttUrl: gatewayMqttUrl,
        caBundle,
        logger: logger.child({ component: 'enrollment' }),
      });
    },
  };
}
