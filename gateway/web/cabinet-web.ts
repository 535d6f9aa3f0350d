/**
 * The cabinet web UI of a running gateway (docs/ui.md): the data routes over the gateway's port
 * (cabinet-adapter.ts) inside the web server (server.ts). One function, so the gateway's main and
 * the demo start it the same way.
 *
 * The web UI is an optional module (ARCHITECTURE.md, "Invariants"): when it cannot start (a port
 * taken, an unreadable certificate) the error is logged and the gateway polls and alarms on.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.js';
import { siteTimeZone } from '../config/types.js';
import type { Gateway } from '../gateway.js';
import { GATEWAY_VERSION } from '../version.js';
import { cabinetPortOf } from './cabinet-adapter.js';
import type { CabinetPort } from './cabinet-port.js';
import { registerCabinetRoutes } from './routes/index.js';
import { startWebServer, type StartWebServerOptions, type WebServer } from './server.js';

export interface CabinetWebOptions {
  /** Tests and the benchmark: another built UI folder, another clock. */
  assetsDir?: StartWebServerOptions['assetsDir'];
  clock?: StartWebServerOptions['clock'];
}

/** Starts the web UI of `gateway` (already started) per `config.web`; null when off or failed. */
export async function startCabinetWeb(
  gateway: Gateway,
  config: GatewayConfig,
  logger: Logger,
  options: CabinetWebOptions = {},
): Promise<WebServer | null> {
  if (!config.web.enabled) return null;
  const webLogger = logger.child({ module: 'web' });
  const timeZone = siteTimeZone(config);
  // The port subscribes to the gateway's events: a server that does not start must let them go
  // (server.ts closes an app that failed to listen, which closes the port; this covers the rest).
  let cabinet: CabinetPort | undefined;
  try {
    cabinet = cabinetPortOf(gateway, { logger: webLogger, timeZone, version: GATEWAY_VERSION });
    const port = cabinet;
    return await startWebServer({
      config: config.web,
      dataDir: config.dataDir,
      logger: webLogger,
      store: gateway.webStore(),
      site: { gatewayId: config.gatewayId, siteName: config.site.name, timeZone },
      registerRoutes: (app) => registerCabinetRoutes(app, port),
      ...(options.assetsDir === undefined ? {} : { assetsDir: options.assetsDir }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
  } catch (error) {
    cabinet?.close();
    webLogger.error({ err: error }, 'the web UI could not start; the gateway polls and alarms without it');
    return null;
  }
}
