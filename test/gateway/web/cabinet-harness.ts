/**
 * The cabinet's data routes on a REAL gateway polling REAL simulators (test/helpers/gateway-harness.ts
 * startScenario: a gas detector, a lamp concentrator and a bridge strain logger on Modbus TCP),
 * through cabinetPortOf and registerCabinetRoutes, on a plain fastify app with the web server's
 * request rules (bodies validated as sent, text parts coerced: gateway/web/app.ts). The guard of
 * gateway/web/access.ts is stood in for by a tiny onRequest hook that signs every request in as
 * the user named by `x-test-user` (default a technician): these tests are about the data, the
 * guard has its own.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createAjv, issuesOf } from '../../../cloud-sync/contract/ajv.js';
import { isKerbsideError } from '../../../cloud-sync/contract/errors.js';
import { cabinetPortOf } from '../../../gateway/web/cabinet-adapter.js';
import type { CabinetPort } from '../../../gateway/web/cabinet-port.js';
import { registerCabinetRoutes, type CabinetRouteOptions } from '../../../gateway/web/routes/index.js';
import type { WebRole } from '../../../gateway/web/api-types.js';
import { seedDayOfReadings } from '../../bench/cabinet-ui-seed.js';
import {
  allDayLightingConfig,
  ScenarioClock,
  startScenario,
  tcpEndpoint,
  type ScenarioHarness,
} from '../../helpers/gateway-harness.js';

export const GAS = 'gas-1';
export const LC = 'lc';
export const BRIDGE = 'bridge';
export const TECHNICIAN = 'tech-anna';

/** A plain fastify app with the web server's validation and the test's sign-in hook. */
export function testApp(): FastifyInstance {
  const app = Fastify({ logger: false });
  const bodyAjv = createAjv({ useDefaults: true });
  const textAjv = createAjv({ useDefaults: true, coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : textAjv).compile(schema),
  );
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.validation !== undefined)
      return reply.code(400).send({
        error: 'WEB_REQUEST_INVALID',
        message: error.message,
        issues: issuesOf(error.validation as Parameters<typeof issuesOf>[0]).map((i) => ({
          pointer: i.pointer,
          message: i.message,
        })),
      });
    if (isKerbsideError(error) && error.status !== undefined)
      return reply.code(error.status).send({ error: error.code, message: error.message });
    return reply.code(500).send({ error: 'WEB_INTERNAL', message: error.message });
  });
  app.decorateRequest('webUser', null);
  app.addHook('onRequest', async (request) => {
    const name = request.headers['x-test-user'];
    const role = request.headers['x-test-role'];
    request.webUser = {
      username: typeof name === 'string' ? name : TECHNICIAN,
      role: role === 'admin' ? 'admin' : ('technician' satisfies WebRole),
    };
  });
  return app;
}

export interface CabinetHarness {
  h: ScenarioHarness;
  cabinet: CabinetPort;
  app: FastifyInstance;
  stop(): Promise<void>;
}

export interface CabinetHarnessOptions {
  name: string;
  /** Seeds 24 h of 1-second h2s readings of the gas detector before the gateway opens the store. */
  seedHistory?: boolean;
  /** With the strain logger (its overweight scenario). */
  strain?: boolean;
  routes?: CabinetRouteOptions;
}

export async function startCabinet(options: CabinetHarnessOptions): Promise<CabinetHarness> {
  const clock = new ScenarioClock();
  const strain = options.strain ?? false;
  const h = await startScenario({
    name: options.name,
    buses: [tcpEndpoint('lan')],
    devices: [
      {
        id: GAS,
        bus: 'lan',
        unitId: 1,
        profile: 'anqi-gd300',
        gateway: { pollIntervalMs: 100, timeoutMs: 500, name: 'Harbour Rd sewer vault' },
      },
      {
        id: LC,
        bus: 'lan',
        unitId: 2,
        profile: 'kerbtek-lc3200',
        gateway: { pollIntervalMs: 200, timeoutMs: 500 },
      },
      ...(strain
        ? [
            {
              id: BRIDGE,
              bus: 'lan',
              unitId: 3,
              profile: 'qiaoce-vw8',
              scenario: 'bridge-traffic:firstOverweightS=3',
              seed: 7,
              gateway: { pollIntervalMs: 100, timeoutMs: 500 },
            },
          ]
        : []),
    ],
    clock,
    config: {
      ...allDayLightingConfig(LC),
      ...(strain
        ? {
            strain: [
              {
                device: BRIDGE,
                material: 'concrete',
                referenceTemperatureC: 15,
                loadFactorTonnesPerMicrostrain: 0.348,
                overweightTonnes: [85, 95],
                windowBeforeS: 2,
                windowAfterS: 1,
              },
            ],
          }
        : {}),
    },
    beforeStart: (dataDir, simulation) => {
      if (options.seedHistory === true) seedDayOfReadings({ dataDir, deviceId: GAS, pointKeys: ['h2s'] });
      // Clean air until a test says otherwise.
      simulation.device(GAS).hold('h2s', 0.5);
      simulation.device(GAS).hold('ch4', 0);
      simulation.device(GAS).hold('o2', 20.9);
      clock.start();
    },
  });
  const cabinet = cabinetPortOf(h.gateway, { logger: pino({ level: 'silent' }) });
  const app = testApp();
  registerCabinetRoutes(app, cabinet, options.routes);
  await app.ready();
  return {
    h,
    cabinet,
    app,
    async stop() {
      await app.close();
      await h.stop();
    },
  };
}
