/**
 * The cabinet web server's fastify app (docs/ui.md; docs/auth.md, "The cabinet's accounts"), built
 * by buildWebApp separately from listen (server.ts), so tests use app.inject() (ARCHITECTURE.md,
 * "Models we imitate"). What it assembles, in this order (fastify hooks apply to the routes
 * registered after them):
 *
 * 1. The request rules, one policy for every route: a JSON body at most BODY_LIMIT bytes (a route
 *    that needs more says `bodyLimit`) and MAX_BODY_DEPTH deep, checked on the text before it is
 *    parsed (runtime/json-depth.ts); no text/plain or form parser (a cross-site form sends those
 *    without a preflight); bodies validated as sent, query and path strings coerced, unknown
 *    properties refused (every /api/ querystring is closed); timeouts against slow clients.
 * 2. One error handler: every error answers ApiError {error, message, issues?} (api-types.ts)
 *    with its catalogue's status (any area's KerbsideError: WEB_*, the data routes' own ...); a request failing its schema is 400 WEB_REQUEST_INVALID with
 *    `issues` by pointer; anything unexpected, and every 5xx, is 500 {error: WEB_INTERNAL,
 *    message, requestId} and a log line with that id, never its text.
 * 3. Security headers (security-headers.ts) and compression of API answers (@fastify/compress;
 *    the page and assets are precompressed, assets.ts; text/event-stream is never compressed).
 * 4. The guard (access.ts): every route declares config.cabinetAccess or does not register.
 * 5. The OpenAPI document (GET /api/openapi.json, signed-in users), then the routes: accounts,
 *    audit, the page and its assets, and whatever the composition root's `registerRoutes` adds
 *    (the data routes, gateway/web/routes/index.ts: this module never imports them).
 */
import compress from '@fastify/compress';
import { constants as zlibConstants } from 'node:zlib';
import swagger from '@fastify/swagger';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  type FastifySchemaValidationError,
  type RouteOptions,
} from 'fastify';
import type { Logger } from 'pino';
import { addDepthLimitedJsonParser } from '../../runtime/json-depth.js';
import { createAjv, issuesOf } from '../../cloud-sync/contract/ajv.js';
import { isKerbsideError, type Issue } from '../../cloud-sync/contract/errors.js';
import type { Instant } from '../alarms/types.js';
import { installGuard, sessionCookieName } from './access.js';
import { LoginLimits, type AddressRule, type LoginLockoutRule } from './accounts/login-limits.js';
import { dummyPasswordHash } from './accounts/passwords.js';
import { WebSessions } from './accounts/sessions.js';
import type { SetupToken } from './accounts/setup-token.js';
import { defaultAssetsDir, loadUiBundle, registerAssetRoutes } from './assets.js';
import { WebError, type WebErrorCode } from './errors.js';
import type { CabinetAccess, WebStorePort } from './ports.js';
import { registerAccountRoutes, type WebSiteFacts } from './routes/accounts.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerSecurityHeaders } from './security-headers.js';

export type { WebSiteFacts } from './routes/accounts.js';

/** Largest request body of a route that sets none (fastify's `bodyLimit`; 413 WEB_BODY_TOO_LARGE beyond). */
export const BODY_LIMIT = 16 * 1024;
/** Deepest nesting of a request body (RFC 8259 section 9 allows a limit); a configuration document nests 7. */
export const MAX_BODY_DEPTH = 64;

/**
 * Against slow clients (slowloris): a whole request within 30 s, its headers within 10 s; an idle
 * keep-alive connection closes after 30 s; a socket with no traffic either way for 60 s closes (a
 * live stream sends more often than that). At most 256 connections at once, far above a cabinet's
 * handful of browsers and the live streams of 20 (the benchmark).
 */
export const WEB_TIMEOUTS = {
  requestMs: 30_000,
  headersMs: 10_000,
  keepAliveMs: 30_000,
  idleSocketMs: 60_000,
};
export const MAX_CONNECTIONS = 256;

export const OPENAPI_PATH = '/api/openapi.json';

export interface WebAppOptions {
  store: WebStorePort;
  /** What the Session answer tells the page about the cabinet. */
  site: WebSiteFacts;
  /** The data routes (and live stream), registered after the guard; called once. */
  registerRoutes?: (app: FastifyInstance) => void | Promise<void>;
  /** The gateway's logger (a child `component: web` is made); none: silent. */
  logger?: Logger;
  /** The built UI (index.html, assets/); default dist/ui/cabinet of this checkout. */
  assetsDir?: string;
  /** Serve HTTPS with this key and certificate (PEM); absent: plain HTTP. */
  https?: { key: string | Buffer; cert: string | Buffer };
  /** Cookie without Secure and the __Host- prefix (plain HTTP only; web.insecureCookies). */
  insecureCookies?: boolean;
  /** Session expiry; default 30 min idle, 12 h absolute (web.sessionIdleMinutes, sessionAbsoluteHours). */
  sessions?: { idleMs: number; absoluteMs: number };
  /** The one-time token of the setup link (server.ts issues it while no admin exists). */
  setup?: SetupToken | null;
  /** Sign-in limits; defaults in login-limits.ts (tests pass smaller ones). */
  loginLimits?: { perAddress?: AddressRule; lockout?: LoginLockoutRule };
  /** The clock of sessions, sign-in limits and the setup token; default the store's (tests inject one). */
  clock?: () => Instant;
}

export const DEFAULT_SESSION_LIMITS = { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 };

/** The request parts fastify validates, as a caller names what it sent in each. */
const PART_WORDS: Readonly<Record<string, string>> = {
  querystring: 'a parameter of this route',
  body: 'a field of this request',
  params: 'a path parameter of this route',
  headers: 'a header of this route',
};

/** fastify's own refusals of a request, before any route ran, by fastify's error code. */
const FASTIFY_REFUSALS: Readonly<Record<string, WebErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'WEB_BODY_MALFORMED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'WEB_BODY_EMPTY',
  FST_ERR_CTP_BODY_TOO_LARGE: 'WEB_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'WEB_UNSUPPORTED_MEDIA_TYPE',
};

interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  issues: readonly Issue[];
}

function requestInvalid(
  errors: readonly FastifySchemaValidationError[],
  part: string | undefined,
): ErrorAnswer {
  const issues = issuesOf(errors, { unknownProperty: `is not ${PART_WORDS[part ?? ''] ?? 'allowed here'}` });
  const list = issues.map((issue) => `${issue.pointer} ${issue.message}`.trim()).join('; ');
  return {
    status: 400,
    code: 'WEB_REQUEST_INVALID',
    message: `the request ${part ?? 'input'} is invalid: ${list}`,
    issues,
  };
}

/** The answer to every error of every route: null for a fault of the server (a 500, logged). */
function answerOf(error: FastifyError): ErrorAnswer | null {
  if (error.validation !== undefined) return requestInvalid(error.validation, error.validationContext);
  // An area's error with the status its catalogue declares (a 503 "not running, retry" included);
  // a declared 500 is a fault like any other.
  if (isKerbsideError(error) && error.status !== undefined && error.status !== 500) {
    return { status: error.status, code: error.code, message: error.message, issues: error.issues };
  }
  // fastify's own refusals of a malformed request (codes FST_*): a 4xx whose words say what was
  // wrong with the request and nothing of the server. Typed FastifyError, but whatever a route
  // throws arrives here: `code` may be absent.
  const fastifyCode: unknown = error.code;
  const status = error.statusCode;
  if (
    typeof fastifyCode === 'string' &&
    fastifyCode.startsWith('FST_') &&
    status !== undefined &&
    status >= 400 &&
    status < 500
  ) {
    return {
      status,
      code: FASTIFY_REFUSALS[fastifyCode] ?? 'WEB_BAD_REQUEST',
      message: error.message,
      issues: [],
    };
  }
  return null;
}

/** The path of a request URL: a query string may carry what a log must not. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** onRoute: every /api/ route's querystring is closed; one that declares none takes no parameter. */
function closeQuerystring(route: RouteOptions): void {
  if (!route.url.startsWith('/api/')) return;
  const schema = route.schema ?? {};
  const query = schema.querystring as Record<string, unknown> | undefined;
  if (query === undefined) {
    route.schema = {
      ...schema,
      querystring: { type: 'object', additionalProperties: false, properties: {} },
    };
  } else if (query['additionalProperties'] !== false) {
    route.schema = { ...schema, querystring: { ...query, additionalProperties: false } };
  }
}

/** The JSON parser: fastify's own (it refuses `__proto__` keys) behind the depth check; nothing else is read. */
function useJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  addDepthLimitedJsonParser(app, MAX_BODY_DEPTH, (message) => new WebError('WEB_BODY_TOO_DEEP', message));
}

/** OpenAPI fields of a route's access rule: who may call it, and the session cookie unless public. */
function accessAnnotations(access: CabinetAccess | undefined): Record<string, unknown> {
  if (access === undefined) return {};
  if ('public' in access) return { 'x-kerbside-access': 'public', 'x-kerbside-roles': [] };
  const roles = access.roles.includes('technician') ? ['technician', 'admin'] : [...access.roles];
  return { 'x-kerbside-access': 'roles', 'x-kerbside-roles': roles, security: [{ cabinetSession: [] }] };
}

export async function buildWebApp(options: WebAppOptions): Promise<FastifyInstance> {
  const { store } = options;
  const clock = options.clock ?? ((): Instant => store.now());
  const insecureCookies = options.insecureCookies === true;
  const https = options.https !== undefined;
  const base = {
    ...(options.logger === undefined
      ? { logger: false }
      : { loggerInstance: options.logger.child({ component: 'web' }) }),
    // One debug access line per request below instead of fastify's two info lines: the live stream
    // and the pages' polling would drown the gateway's own log.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    requestTimeout: WEB_TIMEOUTS.requestMs,
    keepAliveTimeout: WEB_TIMEOUTS.keepAliveMs,
    connectionTimeout: WEB_TIMEOUTS.idleSocketMs,
    // No proxy stands in front of a cabinet: the socket's peer is the client (request.ip).
    trustProxy: false,
  };
  // With `https`, fastify's type is parameterised by https.Server; the routes never touch the raw
  // server, so one instance type serves both.
  const app =
    options.https === undefined
      ? (Fastify(base) as unknown as FastifyInstance)
      : (Fastify({
          ...base,
          https: { key: options.https.key, cert: options.https.cert },
        }) as unknown as FastifyInstance);
  app.server.headersTimeout = WEB_TIMEOUTS.headersMs;
  app.server.maxConnections = MAX_CONNECTIONS;

  // Bodies as sent, text parts coerced, unknown properties kept so closed schemas refuse them.
  const bodyAjv = createAjv({ useDefaults: true });
  const textAjv = createAjv({ useDefaults: true, coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : textAjv).compile(schema),
  );
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply) => {
    const answer = answerOf(error);
    if (answer !== null) {
      request.log.debug({ statusCode: answer.status, error: answer.code }, 'request refused');
      return reply.code(answer.status).send({
        error: answer.code,
        message: answer.message,
        ...(answer.issues.length > 0 ? { issues: answer.issues } : {}),
      });
    }
    // A fault of the server: its text (a SQL statement, a path) stays in the log (OWASP ASVS
    // v4.0.3 7.4.1: a generic message, no internals); the request id finds the line.
    request.log.error({ err: error, url: pathOf(request.url) }, 'internal error');
    return reply.code(500).send({
      error: 'WEB_INTERNAL',
      message: `the cabinet server failed; the gateway log has request ${request.id}`,
      requestId: request.id,
    });
  });
  app.setNotFoundHandler((request, reply) => {
    return reply
      .code(404)
      .send({ error: 'WEB_NOT_FOUND', message: `no route ${request.method} ${pathOf(request.url)}` });
  });
  useJsonBodyParser(app);
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug(
      {
        method: request.method,
        url: pathOf(request.url),
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request completed',
    );
  });
  app.addHook('onRoute', closeQuerystring);

  // Headers before the guard, so that its 401 and 403 carry them too.
  await registerSecurityHeaders(app, { https });
  // API answers only: text/event-stream is not compressible to it, and the page and assets say
  // compress: false (precompressed). Request bodies are never inflated (a small gzip can expand
  // past any body limit).
  // Brotli at quality 5 with a 256 KiB window for answers made per request: zlib's default
  // (quality 11, 4 MiB window) costs tens of MiB and milliseconds per answer on a cabinet's small
  // computer for a few percent fewer bytes (docs/performance.md, "Cabinet web UI").
  await app.register(compress, {
    globalDecompression: false,
    threshold: 1024,
    encodings: ['br', 'gzip'],
    brotliOptions: {
      params: {
        [zlibConstants.BROTLI_PARAM_QUALITY]: 5,
        [zlibConstants.BROTLI_PARAM_LGWIN]: 18,
        [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT,
      },
    },
  });

  const clockMono = (): number => clock().monoMs;
  const sessions = new WebSessions(options.sessions ?? DEFAULT_SESSION_LIMITS, clock);
  const limits = new LoginLimits({ clock: clockMono, ...options.loginLimits });
  installGuard(app, { store, sessions, insecureCookies });
  // Made now, so the first sign-in of an unknown name does not cost two hashes (it would tell).
  await dummyPasswordHash();

  await app.register(swagger, {
    mode: 'dynamic',
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Kerbside cabinet API',
        version: '1.0.0',
        description:
          'The cabinet web UI of a Kerbside gateway. Sign in with POST /api/login; the session travels in an HttpOnly cookie, and every POST, PUT, PATCH and DELETE must come from the cabinet’s own pages (Sec-Fetch-Site or Origin).',
      },
      components: {
        securitySchemes: {
          cabinetSession: { type: 'apiKey', in: 'cookie', name: sessionCookieName(insecureCookies) },
        },
      },
    },
    transform: ({ schema, url, route }) => ({
      schema: { ...schema, ...accessAnnotations(route.config?.cabinetAccess) },
      url,
    }),
  });
  app.get(
    OPENAPI_PATH,
    {
      config: { cabinetAccess: { roles: ['technician'] } },
      schema: {
        summary: 'This OpenAPI document',
        tags: ['meta'],
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => app.swagger(),
  );

  registerAccountRoutes(app, {
    store,
    sessions,
    limits,
    setup: options.setup ?? null,
    site: options.site,
    insecureCookies,
    clock,
  });
  registerAuditRoutes(app, { store });
  registerAssetRoutes(app, await loadUiBundle(options.assetsDir ?? defaultAssetsDir()));
  await options.registerRoutes?.(app);
  return app;
}
