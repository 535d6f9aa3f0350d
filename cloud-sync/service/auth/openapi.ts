/**
 * The OpenAPI 3.0.3 document of the cloud HTTP API, generated from the routes' own JSON schemas
 * (@fastify/swagger, dynamic mode) and served at GET /api/v1/openapi.json (behind the scrape token,
 * api/scrape-token.ts). Each operation
 * carries its access rule (roles.ts, docs/auth.md):
 *   x-kerbside-access  'public' | 'any' | 'roles'
 *   x-kerbside-roles   the roles allowed ([] for public, every role for 'any')
 *   security           [{ bearerAuth: [] }] unless public
 * Register BEFORE the routes it should describe (swagger collects them in an onRoute hook);
 * buildHttpApp (http.ts) does it first thing, so a second call on the same app does nothing.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { ROLES, type RouteAccess } from './roles.js';

export const OPENAPI_PATH = '/api/v1/openapi.json';
export const BEARER_SCHEME = 'bearerAuth';

const registered = new WeakSet<FastifyInstance>();

/** The operation fields that describe a route's access rule. */
export function accessAnnotations(access: RouteAccess | undefined): Record<string, unknown> {
  if (access === undefined) return {};
  if ('public' in access) return { 'x-kerbside-access': 'public', 'x-kerbside-roles': [] };
  const any = access.roles === 'any';
  return {
    'x-kerbside-access': any ? 'any' : 'roles',
    'x-kerbside-roles': any ? [...ROLES] : [...access.roles],
    security: [{ [BEARER_SCHEME]: [] }],
  };
}

/** What guards the document (api/scrape-token.ts); none in a bare registration (tests). */
type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

async function openApiPlugin(app: FastifyInstance, opts: { guard?: Guard }): Promise<void> {
  await app.register(swagger, {
    mode: 'dynamic',
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Kerbside cloud API',
        version: '1.0.0',
        description:
          'Cases, operators, downlink and enrollment of the Kerbside cloud service. Sign in with ' +
          'POST /api/v1/auth/login and send the token as `Authorization: Bearer <token>`.',
      },
      components: {
        securitySchemes: {
          [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', description: 'session token' },
        },
      },
    },
    transform: ({ schema, url, route }) => {
      const access = (route.config as { access?: RouteAccess } | undefined)?.access;
      return { schema: { ...schema, ...accessAnnotations(access) } as FastifySchema, url };
    },
  });

  app.get(
    OPENAPI_PATH,
    {
      // Public to the session guard; the scrape token guards it (http.ts).
      config: { access: { public: true } },
      ...(opts.guard === undefined ? {} : { onRequest: opts.guard }),
      schema: {
        summary: 'This OpenAPI document (needs the scrape token)',
        tags: ['meta'],
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => app.swagger(),
  );
}
// Runs in the caller's context (fastify-plugin semantics): swagger's onRoute hook must see the
// routes registered later on the root app and in its child plugins.
Object.assign(openApiPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'kerbside-openapi',
});

/**
 * Queues the OpenAPI plugin on `app` (once per app) without waiting: fastify loads plugins in
 * registration order, so routes registered after this call are described. For synchronous builders
 * such as buildHttpApp.
 */
export function queueOpenApi(app: FastifyInstance, guard?: Guard): void {
  if (registered.has(app)) return;
  registered.add(app);
  void app.register(openApiPlugin, guard === undefined ? {} : { guard });
}

/** Registers the OpenAPI plugin on `app` (once per app; nothing when buildHttpApp did already). */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  if (registered.has(app)) return;
  registered.add(app);
  await app.register(openApiPlugin);
}
