/**
 * The service's HTTP endpoint (fastify): GET /metrics (Prometheus text) and GET /healthz. Built
 * separately from listen() (ARCHITECTURE.md, "Models we imitate"), so tests use app.inject() and
 * callers register more route plugins (enrollment, API) between buildHttpApp() and listenHttp().
 * Every route declares its schema and its access (auth/roles.ts; both routes here are public). The
 * OpenAPI plugin is queued first so that these routes and every later one appear in
 * GET /api/v1/openapi.json (auth/openapi.ts). Loopback by default: nothing is exposed by accident.
 *
 * Request rules of every API route (under /api/), one policy for the whole API:
 * - A parameter, field or path parameter the route does not declare is refused with 400, never
 *   silently dropped. Each querystring schema is closed (a route that declares none takes no
 *   parameter: NO_QUERY), bodies are closed by their own schemas, and the validators keep unknown
 *   properties (`removeAdditional: false`) so that the closed schemas refuse them.
 * - A body is checked as sent: no coercion (a string "5" for an integer field is refused, as is
 *   "true" for a boolean), since a JSON body can say what it means and an operator's mistyped
 *   request must not run as something else. The schema's defaults are filled in. Querystring, path
 *   parameters and headers are text on the wire, so they alone are coerced to their declared types.
 *   Both validators come from the project's one factory (contract/ajv.ts), chosen by request part.
 * - Every error answer, of every route, has one shape, `{error: CODE, message, issues?}`, from one
 *   error handler (answerError): an area's error with its own status and code; a request failing
 *   its schema 400 REQUEST_INVALID with `issues` by pointer (`/stat`); the HTTP layer's own
 *   refusals (malformed or empty JSON, 413, 415) their status with an API_ERRORS code; an unknown
 *   route 404 API_NOT_FOUND; anything else, and every 5xx, `{error: 'API_INTERNAL', requestId}`
 *   and nothing more: its text and its own code in the log line with that request id.
 * - Bodies are JSON only (no text/plain: a cross-site form could send it without a preflight), at
 *   most BODY_LIMITS bytes for their route and MAX_BODY_DEPTH deep (api/json-body.ts), refused
 *   before they are parsed.
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
import helmet from '@fastify/helmet';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ApiError, type ApiErrorCode } from './api/errors.js';
import { useJsonBodyParser } from './api/json-body.js';
import { scrapeGuard } from './api/scrape-token.js';
import { queueOpenApi } from './auth/openapi.js';
import { createAjv, issuesOf } from '../contract/ajv.js';
import { isKerbsideError, type Issue, type KerbsideError } from '../contract/errors.js';

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
  /**
   * How long a client may take, ms: to send a whole request (`requestMs`; its headers within a
   * third of it), and to stay connected idle between requests (`idleMs`). Default HTTP_TIMEOUTS.
   */
  timeouts?: Partial<HttpTimeouts>;
  /** Serve HTTPS with this key and certificate (PEM). */
  https?: { key: Buffer | string; cert: Buffer | string };
  /**
   * Believe `X-Forwarded-For` (and `-Proto`, `-Host`) from the peer: fastify's trustProxy, as the
   * number of proxy hops or the proxies' addresses/CIDRs. Only behind a reverse proxy that sets
   * them; otherwise any client could claim any address and walk past every limit keyed on it. Never
   * `true`: that takes the left-most X-Forwarded-For entry, which the client writes itself. Off by
   * default (setting http.trustProxy).
   */
  trustProxy?: false | number | string[];
  /**
   * The token GET /metrics and the OpenAPI document require (api/scrape-token.ts); null or absent:
   * both are refused.
   */
  scrapeToken?: string | null;
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

export interface HttpTimeouts {
  requestMs: number;
  idleMs: number;
}

/**
 * A client that sends a request slowly holds a socket and its buffers for as long as the server
 * lets it (slowloris). Node's own defaults are 300 s for a request and none for its headers beyond
 * 60 s; every request of this API is small, so 30 s to send it all (10 s for the headers) is
 * generous even on a slow mobile link, and an idle keep-alive connection goes after 65 s (longer
 * than the 60 s idle timeout of common load balancers, so that they close first).
 */
export const HTTP_TIMEOUTS: HttpTimeouts = { requestMs: 30_000, idleMs: 65_000 };

/**
 * The most a request body may be, bytes (fastify's `bodyLimit`, 413 API_BODY_TOO_LARGE beyond).
 * fastify buffers a whole body before a route sees it, so the limit is what one request may make
 * the process hold. `default` for every route that sets none: a case note is at most 4000
 * characters (up to 24 KB escaped), nothing else comes close; `credentials` for sign-in, password
 * change and enrollment, which are public or nearly so (two 256-character passwords, a 256-character
 * token); `document` for a configuration document, the one large body (contract/config-document.ts).
 */
export const BODY_LIMITS = { default: 64 * 1024, credentials: 8 * 1024, document: 1024 * 1024 } as const;

/** Routes under this prefix are the API: their request rules are the ones described above. */
export const API_PREFIX = '/api/';

/**
 * The `offset` parameter of every paged list. Bounded: an offset beyond any real list (1e30) went
 * to SQLite as a number it refuses (SQLITE_MISMATCH), a 500; a million rows is past any page a
 * person turns to.
 */
export const OFFSET_PARAMETER = { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 } as const;

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
function requestIssues(errors: readonly FastifySchemaValidationError[], part: string | undefined): Issue[] {
  return issuesOf(errors, { unknownProperty: `is not ${PART_WORDS[part ?? ''] ?? 'allowed here'}` });
}

/** One line naming every issue, e.g. `the request querystring is invalid: /stat is not a parameter of this route`. */
function requestIssuesMessage(part: string | undefined, issues: readonly Issue[]): string {
  const list = issues.map((issue) => `${issue.pointer} ${issue.message}`.trim());
  return `the request ${part ?? 'input'} is invalid: ${list.join('; ')}`;
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

/** The one error answer of the API; for a route's error response schemas. */
export const errorAnswerSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' }, issues: issuesSchema },
} as const;

/** What the API answers for an error: the status and `{error: CODE, message, issues?}`. */
interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  issues: readonly Issue[];
}

/** fastify's own refusals of a request, before any route ran, by fastify's error code. */
const FASTIFY_REFUSALS: Readonly<Record<string, ApiErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'API_BODY_MALFORMED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'API_BODY_EMPTY',
  FST_ERR_CTP_BODY_TOO_LARGE: 'API_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'API_UNSUPPORTED_MEDIA_TYPE',
};

function answerOf(error: KerbsideError, status: number): ErrorAnswer {
  return { status, code: error.code, message: error.message, issues: error.issues };
}

/**
 * An area's error, with the status its catalogue declares (contract/errors.ts: every area's error
 * is a KerbsideError); one without a status is no answer for a client, so the caller makes it a 500.
 */
function areaAnswer(error: unknown): ErrorAnswer | undefined {
  if (!isKerbsideError(error) || error.status === undefined) return undefined;
  return answerOf(error, error.status);
}

/** The answer to every error of every route (see the header): one place, one shape. */
function answerError(error: FastifyError, request: FastifyRequest): ErrorAnswer {
  if (error.validation !== undefined) {
    const part = error.validationContext;
    const issues = requestIssues(error.validation, part);
    return answerOf(new ApiError('REQUEST_INVALID', requestIssuesMessage(part, issues), { issues }), 400);
  }
  const area = areaAnswer(error);
  if (area !== undefined) {
    // An area's 5xx (a programming error such as AUTH_UNGUARDED_ROUTE) is a fault to look into.
    if (area.status >= 500) {
      request.log.error({ err: error }, 'internal error');
      return INTERNAL_ANSWER;
    }
    return area;
  }
  // fastify's own refusals of a malformed request (its codes are FST_*): a 4xx with fastify's
  // words, which say what was wrong with the request and nothing of the service. Another error
  // that merely carries a 4xx statusCode (a client library's) is the service's fault, below.
  const status = error.statusCode;
  // Typed as FastifyError, but whatever a route throws arrives here: `code` may be absent.
  const fastifyCode: unknown = error.code;
  if (
    typeof fastifyCode === 'string' &&
    fastifyCode.startsWith('FST_') &&
    status !== undefined &&
    status >= 400 &&
    status < 500
  ) {
    const code = FASTIFY_REFUSALS[fastifyCode] ?? 'API_BAD_REQUEST';
    return answerOf(new ApiError(code, error.message), status);
  }
  // Anything else is a fault of the service: its text (a SQL statement, a path, a stack) stays in
  // the log (OWASP ASVS v4.0.3 7.4.1: a generic message, no internals).
  request.log.error({ err: error }, 'internal error');
  return INTERNAL_ANSWER;
}

/** Every 5xx: the code alone (its message is never sent, see the error handler). */
const INTERNAL_ANSWER: ErrorAnswer = { status: 500, code: 'API_INTERNAL', message: '', issues: [] };

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

/**
 * fastify's trustProxy: a number n trusts the n nearest hops (fastify reads a number so, but its
 * type does not say it: spelt as the equivalent function).
 */
function trustProxyOption(
  setting: false | number | string[],
): false | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting !== 'number') return setting;
  return (_address, hop) => hop < setting;
}

export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const timeouts = { ...HTTP_TIMEOUTS, ...options.timeouts };
  const base = {
    // Scrapes and health probes arrive every few seconds: their request lines would drown even the
    // debug log. Other routes (enrollment, API) log one access line each (AccessLogController).
    logController: new AccessLogController({
      disableRequestLogging: (request) => QUIET_ROUTES.has(request.url),
    }),
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    requestTimeout: timeouts.requestMs,
    // Per route where a body may be larger (BODY_LIMITS); this is every other route's.
    bodyLimit: BODY_LIMITS.default,
    trustProxy: trustProxyOption(options.trustProxy ?? false),
    keepAliveTimeout: timeouts.idleMs,
    connectionTimeout: timeouts.idleMs,
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

  // The body policy of the header: bodies as sent, text parts coerced; unknown properties kept by
  // both (createAjv), so closed schemas refuse them. Every issue at once (allErrors), so that one
  // 400 tells an operator all that is wrong; the work stays bounded by the body and depth limits
  // (BODY_LIMITS, api/json-body.ts) and the schemas' own limits. Set on the root instance, so every route plugin registered later
  // inherits it.
  const bodyAjv = createAjv({ useDefaults: true });
  const textAjv = createAjv({ useDefaults: true, coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : textAjv).compile(schema),
  );
  // On the root instance: route plugins set no handler of their own, so this one answers for all.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = answerError(error, request);
    // A 4xx is the client's mistake, answered in full: one debug line, no stack (AccessLogController).
    if (answer.status < 500) {
      request.log.debug({ statusCode: answer.status, error: answer.message }, 'request refused');
      return reply.code(answer.status).send({
        error: answer.code,
        message: answer.message,
        ...(answer.issues.length > 0 ? { issues: answer.issues } : {}),
      });
    }
    // A fault of the service: `{error, requestId}` and nothing else (issue 12, finding 5). The code
    // is the API's stable API_INTERNAL, never the cause's (an area's or the driver's); the id finds
    // the log line, which has what the answer must not.
    return reply.code(answer.status).send({ error: answer.code, requestId: request.id });
  });
  // JSON only, depth-checked before it is parsed; no text/plain (api/json-body.ts).
  useJsonBodyParser(app);
  app.setNotFoundHandler((request, reply) => {
    // The path without its query, which may carry what an answer need not repeat (a token).
    const error = new ApiError('API_NOT_FOUND', `no route ${request.method} ${pathOf(request.url)}`);
    return reply.code(404).send({ error: error.code, message: error.message });
  });

  // Headers are due within a third of the request's time (node's http.Server.headersTimeout).
  app.server.headersTimeout = Math.ceil(timeouts.requestMs / 3);
  // Security headers on every answer (OWASP Secure Headers): nosniff, frame-ancestors 'none', HSTS,
  // a strict Content-Security-Policy, no referrer, no cross-origin opener or resource sharing.
  void app.register(helmet, {
    contentSecurityPolicy: {
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"] },
    },
    referrerPolicy: { policy: 'no-referrer' },
  });

  // Added now (onRoute hooks apply at once), so it runs for every route registered later, before
  // the OpenAPI plugin's own hook reads the schema.
  app.addHook('onRoute', closeQuerystring);
  // The scrape token guards the metrics and the OpenAPI document (api/scrape-token.ts).
  const scrape = scrapeGuard(options.scrapeToken ?? null);
  queueOpenApi(app, scrape);
  // In a plugin queued after the OpenAPI one, so the document describes these routes too.
  void app.register(async (scope) => {
    scope.get(
      '/metrics',
      {
        // Public to the session guard (auth/plugin.ts): a scraper has a token, not a session.
        config: { access: { public: true } },
        onRequest: scrape,
        schema: { response: { 200: { type: 'string' } } },
      },
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

/** Whether `host` is a loopback address (or name): nothing beyond this machine reaches it. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** What start-up says about the listener's exposure: warnings an operator must read. */
export function listenerWarnings(http: {
  host: string;
  tls: unknown;
  insecureCookies: boolean;
  scrapeToken: string | null;
}): string[] {
  const warnings: string[] = [];
  const exposed = !isLoopbackHost(http.host);
  if (exposed && http.tls === null) {
    warnings.push(
      `the HTTP API listens on ${http.host} without TLS: passwords, session tokens and enrollment secrets cross the network in clear text; set http.tls or put a TLS proxy in front and listen on 127.0.0.1`,
    );
  }
  if (exposed && http.insecureCookies) {
    warnings.push(
      `http.insecureCookies is on while listening on ${http.host}: the session cookie may travel without TLS; it is meant for loopback development only`,
    );
  }
  if (http.scrapeToken === null) {
    warnings.push(
      'no scrape token (http.scrapeTokenFile or KERBSIDE_SCRAPE_TOKEN): GET /metrics and the OpenAPI document answer 401',
    );
  }
  return warnings;
}

/** Listens and returns the bound port (0 picks a free one). */
export async function listenHttp(app: FastifyInstance, host: string, port: number): Promise<number> {
  await app.listen({ host, port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('http server has no TCP address');
  return address.port;
}
