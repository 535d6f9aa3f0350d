/**
 * Operator roles of the digital city-management workflow (docs/domain.md, "The case workflow") and
 * the access declaration every HTTP route carries. auth/plugin.ts refuses to register a route that
 * declares none, authenticates every request that is not public, answers 401 to an anonymous
 * caller and 403 to a caller without one of the route's roles, and audits the outcome.
 *
 *   monitoring   monitoring centre (监督中心): files, cancels, verifies and closes cases; commands
 *   dispatcher   dispatch desk (指挥中心): dispatches, returns, extends, suspends and resumes
 *   owner_unit   responsible unit (责任单位): accepts, reports feedback, requests extensions, returns
 *                a wrongly assigned case; sees only its own unit's cases
 *   inspector    field inspector (监督员): verifies on site
 *   admin        accounts, component registry, configuration documents
 */
export const ROLES = ['monitoring', 'dispatcher', 'owner_unit', 'inspector', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** The caller of an authenticated request. */
export interface AuthenticatedOperator {
  username: string;
  displayName: string;
  roles: Role[];
  /** The owner unit an `owner_unit` operator belongs to; null for other roles. */
  unit: string | null;
}

/**
 * Who may call a route: nobody unauthenticated unless `public` (login, enrollment, health,
 * metrics, the OpenAPI document); `roles: 'any'` = any signed-in operator.
 */
export type RouteAccess = { public: true } | { roles: readonly Role[] | 'any' };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every route (auth/plugin.ts). */
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** Set by auth/plugin.ts before the handler of every non-public route runs. */
    operator: AuthenticatedOperator | null;
    /** What the audit record of this request names as its target (a case id, a gateway id ...). */
    auditTarget?: string;
    /** Extra detail for the audit record (never a password or token). */
    auditDetail?: Record<string, unknown>;
  }
}

/** The operator of a request on a non-public route (the plugin guarantees one). */
export function operatorOf(request: { operator: AuthenticatedOperator | null }): AuthenticatedOperator {
  if (request.operator === null) throw new Error('route reached without an authenticated operator');
  return request.operator;
}
