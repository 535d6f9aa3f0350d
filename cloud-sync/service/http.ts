/**
 * The service's HTTP endpoint (fastify): GET /metrics (Prometheus text) and GET /healthz. Built
 * separately from listen() (DESIGN.md section 4), so tests use app.inject() and callers register
 * more route plugins (enrollment, API) between buildHttpApp() and listenHttp(). Every route
 * declares its schema and its access (auth/roles.ts; both routes here are public). The OpenAPI
 * plugin is queued first so that these routes and every later one appear in
 * GET /api/v1/openapi.json (auth/openapi.ts). Loopback by default: nothing is exposed by accident.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { queueOpenApi } from './auth/openapi.js';

export interface HealthCheck {
  ok: boolean;
  /** Why not, when not ok. */
  error?: string;
}

export interface HealthReport {
  database: HealthCheck;
  mqtt: HealthCheck;
}

export interface HttpAppOptions {
  registry: Registry;
  /** Runs the checks behind /healthz; must not throw (a failing check is `ok: false`). */
  health: () => Promise<HealthReport>;
  /** Serve HTTPS with this key and certificate (PEM). */
  https?: { key: Buffer | string; cert: Buffer | string };
  logger?: Logger;
}

const checkSchema = {
  type: 'object',
  properties: { ok: { type: 'boolean' }, error: { type: 'string' } },
  required: ['ok'],
  additionalProperties: false,
} as const;

const healthSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    checks: {
      type: 'object',
      properties: { database: checkSchema, mqtt: checkSchema },
      required: ['database', 'mqtt'],
      additionalProperties: false,
    },
  },
  required: ['status', 'checks'],
  additionalProperties: false,
} as const;

const QUIET_ROUTES = new Set(['/metrics', '/healthz']);

export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const base = {
    // Scrapes and health probes arrive every few seconds: their request lines would drown the log.
    // Other routes (enrollment, API) keep fastify's request and error logging.
    logController: new LogController({
      disableRequestLogging: (request) => QUIET_ROUTES.has(request.url),
    }),
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
  };
  // With `https`, fastify's type is parameterised by https.Server; these routes (and the plugins
  // registered later) never touch the raw server, so one instance type serves both.
  const app =
    options.https === undefined
      ? (Fastify(base) as unknown as FastifyInstance)
      : (Fastify({
          ...base,
          https: { key: options.https.key, cert: options.https.cert },
        }) as unknown as FastifyInstance);

  queueOpenApi(app);
  // In a plugin queued after the OpenAPI one, so the document describes these routes too.
  void app.register(async (scope) => {
    scope.get(
      '/metrics',
      { config: { access: { public: true } }, schema: { response: { 200: { type: 'string' } } } },
      async (_request, reply) => {
        reply.header('content-type', options.registry.contentType);
        return options.registry.metrics();
      },
    );

    scope.get(
      '/healthz',
      {
        config: { access: { public: true } },
        schema: { response: { 200: healthSchema, 503: healthSchema } },
      },
      async (_request, reply) => {
        const checks = await options.health();
        const ok = checks.database.ok && checks.mqtt.ok;
        // 503 lets a load balancer or orchestrator take the instance out until it recovers.
        reply.code(ok ? 200 : 503);
        return { status: ok ? 'ok' : 'unavailable', checks };
      },
    );
  });
  return app;
}

/** Listens and returns the bound port (0 picks a free one). */
export async function listenHttp(app: FastifyInstance, host: string, port: number): Promise<number> {
  await app.listen({ host, port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('http server has no TCP address');
  return address.port;
}
