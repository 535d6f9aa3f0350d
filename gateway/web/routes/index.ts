/**
 * The cabinet's data routes (overview, devices, trends, alarms, lighting, bus, strain, overrides)
 * and the live stream, on the app gateway/web/app.ts builds. A composition root (gateway/main.ts,
 * simulators/demo.ts) passes this function and the CabinetPort of its running gateway
 * (cabinet-adapter.ts cabinetPortOf), so the server core does not import the gateway.
 *
 * Every route declares `config.cabinetAccess` (both roles: the technician's work; admin-only
 * routes are the accounts and audit routes) and a JSON schema for each part it reads and answers.
 */
import type { FastifyInstance } from 'fastify';
import type { CabinetPort } from '../cabinet-port.js';
import { registerLiveRoute, type LiveOptions } from '../live.js';
import { registerAlarmRoutes } from './alarms.js';
import { registerBusRoutes } from './bus.js';
import { registerDeviceRoutes } from './devices.js';
import { registerLightingRoutes } from './lighting.js';
import { registerOverrideRoutes } from './overrides.js';
import { registerOverviewRoutes } from './overview.js';
import { registerStrainRoutes } from './strain.js';
import { registerTrendRoutes } from './trend.js';

export interface CabinetRouteOptions {
  /** Bounds of the live stream (live.ts defaults: 32 clients, 256 KiB per client). */
  live?: LiveOptions;
}

export function registerCabinetRoutes(
  app: FastifyInstance,
  cabinet: CabinetPort,
  options: CabinetRouteOptions = {},
): void {
  registerOverviewRoutes(app, cabinet);
  registerDeviceRoutes(app, cabinet);
  registerTrendRoutes(app, cabinet);
  registerAlarmRoutes(app, cabinet);
  registerLightingRoutes(app, cabinet);
  registerBusRoutes(app, cabinet);
  registerStrainRoutes(app, cabinet);
  registerOverrideRoutes(app, cabinet);
  registerLiveRoute(app, cabinet, options.live);
  // The port's own listeners on the gateway's event bus end with the app.
  app.addHook('onClose', (_instance, done) => {
    cabinet.close();
    done();
  });
}
