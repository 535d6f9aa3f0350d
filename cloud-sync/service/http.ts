/**
 * The service's HTTP endpoint (fastify): GET /metrics (Prometheus text) and GET /healthz. Built
 * separately from listen() (ARCHITECTURE.md, "Models we imitate"), so tests use app.inject() and
 * callers register more route plugins (enrollment, API) between buildHttpApp() and listenHttp().
 * Every route declares its schema and its access (auth/roles.ts; both routes here are public). The
 * OpenAPI plugin is queued first so that these routes and every later one appear in
 * GET /api/v1/openapi.json (auth/openapi.ts). Loopback by default: nothing is exposed by accident.
 *
 * Request rules of every API route (under /api/): a parameter, field or path parameter the route
 * does not declare is refused with 400, never silently dropped. Each querystring schema is closed
 * (a route that declares none takes no parameter: NO_QUERY), bodies are closed by their own
 * schemas, and the validator keeps unknown properties (`removeAdditional: false`) so that the
 * closed schemas refuse them. A refusal names what was wrong by pointer (`/stat`): the route
 * plugins' error handlers answer `{error: CODE, message, issues: [{pointer, message}]}`
 * (validationAnswer), routes without one get fastify's shape with the same message.
 */
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchemaValidationError,
  type RouteOptions,
} from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { queueOpenApi } from './auth/openapi.js';
import type { Issue } from '../contract/errors.js';

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

/** Routes under this prefix are the API: their request rules are the ones described above. */
export const API_PREFIX = '/api/';

/** The querystring schema of a route that takes no query parameter. */
export const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

/** The request parts fastify validates, as a caller names what it sent in each. */
const PART_WORDS: Readonly<Record<string, string>> = {
  querystring: 'a parameter of this route',
  body: 'a field of this request',
  params: 'a path parameter of this route',
  headers: 'a header of this route',
};

/** The issues of a schema validation failure of one request part. */
export function requestIssues(
  errors: readonly FastifySchemaValidationError[],
  part: string | undefined,
): Issue[] {
  return errors.map((e) => {
    const missing = e.keyword === 'required' ? `/${String(e.params['missingProperty'])}` : '';
    const extra = e.keyword === 'additionalProperties' ? `/${String(e.params['additionalProperty'])}` : '';
    return {
      pointer: `${e.instancePath}${missing}${extra}`,
      message:
        extra !== ''
          ? `is not ${PART_WORDS[part ?? ''] ?? 'allowed here'}`
          : missing !== ''
            ? 'is required'
            : (e.message ?? `fails ${e.keyword}`),
    };
  });
}

/** One line naming every issue, e.g. `the request querystring is invalid: /stat is not a parameter of this route`. */
export function requestIssuesMessage(part: string | undefined, issues: readonly Issue[]): string {
  const list = issues.map((issue) => `${issue.pointer} ${issue.message}`.trim());
  return `the request ${part ?? 'input'} is invalid: ${list.join('; ')}`;
}

/**
 * The API's answer to a request that fails its route's schema, under the area's code
 * (`CASE_INVALID`, `AUTH_INVALID_ARGUMENT` ...): `{error, message, issues}`. For the route plugins'
 * error handlers, when `error.validation` is set.
 */
export function validationAnswer(
  code: string,
  error: FastifyError,
): { error: string; message: string; issues: Issue[] } {
  const issues = requestIssues(error.validation ?? [], error.validationContext);
  return { error: code, message: requestIssuesMessage(error.validationContext, issues), issues };
}

/** `issues` in an error response schema (a schema without it would drop them from the answer). */
export const issuesSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['pointer', 'message'],
    properties: { pointer: { type: 'string' }, message: { type: 'string' } },
  },
} as const;

/**
 * onRoute: every API route's querystring is closed. A route that declares none gets NO_QUERY; one
 * declared without `additionalProperties: false` is closed. (Bodies are closed in their schemas.)
 */
function closeQuerystring(route: RouteOptions): void {
  if (!route.url.startsWith(API_PREFIX)) return;
  const schema = route.schema ?? {};
  const query = schema.querystring as Record<string, unknown> | undefined;
  if (query === undefined) route.schema = { ...schema, querystring: NO_QUERY };
  else if (query['additionalProperties'] !== false) {
    route.schema = { ...schema, querystring: { ...query, additionalProperties: false } };
  }
}

/** The path of a request URL: a query string may carry what the log must not (a token, a name). */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * fastify's per-request lines, at the level an operator reads them: fastify writes two info lines
 * per request (incoming, completed), which drowned the service's own lines (116 of 380 in a
 * 3-minute demo). Here a request is one access line at debug when it completes (method, path
 * without the query, status, time), an errored or 5xx request that line at error; the incoming
 * line is trace, for a request that never completes. A 4xx is the client's mistake and goes to
 * debug too; 5xx error lines and stream lines stay fastify's.
 */
class AccessLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.trace({ method: request.method, url: pathOf(request.url) }, 'incoming request');
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const fields = {
      method: request.method,
      url: pathOf(request.url),
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 10) / 10,
    };
    // A 5xx that a route's own error handler answered leaves no other trace: keep it at error.
    if (error !== null && error !== undefined) reply.log.error({ ...fields, err: error }, 'request errored');
    else if (reply.statusCode >= 500) reply.log.error(fields, 'request completed');
    else reply.log.debug(fields, 'request completed');
  }

  /**
   * A 5xx stays fastify's error line with the stack; a 4xx is the client's mistake, answered in
   * the response: fastify logs it at info with a stack trace, here at debug with the message.
   */
  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (reply.statusCode >= 500) {
      super.defaultErrorLog(error, request, reply);
      return;
    }
    if (this.isLogDisabled(request)) return;
    reply.log.debug({ statusCode: reply.statusCode, error: error.message }, 'request refused');
  }

  /** The access line says 404 already; fastify's own line repeats it with the query string. */
  override routeNotFound(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ method: request.method, url: pathOf(request.url) }, 'route not found');
  }
}

export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const base = {
    // Scrapes and health probes arrive every few seconds: their request lines would drown even the
    // debug log. Other routes (enrollment, API) log one access line each (AccessLogController).
    logController: new AccessLogController({
      disableRequestLogging: (request) => QUIET_ROUTES.has(request.url),
    }),
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    // fastify's default (removeAdditional: true) strips what a closed schema does not name, so a
    // typo such as ?stat=open would be ignored; kept, the closed schema refuses it. Route plugins
    // that compile with their own ajv (downlink, enrollment) set the same.
    ajv: { customOptions: { removeAdditional: false } },
    // Messages that name the offending pointer, for answers that do not go through validationAnswer.
    schemaErrorFormatter: (errors: FastifySchemaValidationError[], part: string) =>
      new Error(requestIssuesMessage(part, requestIssues(errors, part))),
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

  // Added now (onRoute hooks apply at once), so it runs for every route registered later, before
  // the OpenAPI plugin's own hook reads the schema.
  app.addHook('onRoute', closeQuerystring);
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
