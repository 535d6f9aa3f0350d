/**
 * Sign-in, sessions, first-admin setup and user management of the cabinet web UI (docs/auth.md,
 * "The cabinet's accounts"; the shapes are api-types.ts'):
 *
 *   GET  /api/session           signed in   the Session (401 WEB_AUTH_REQUIRED otherwise)
 *   POST /api/login             public      {username, password} -> Session + the session cookie
 *   POST /api/logout            signed in   ends this session, drops the cookie (204)
 *   GET  /api/setup             public      {needed}: no enabled admin exists yet
 *   POST /api/setup             public      {token, username, password} -> the first admin, signed in (201)
 *   POST /api/password          signed in   {currentPassword, newPassword}: ends all own sessions, signs in anew
 *   GET  /api/users             admin       every user
 *   POST /api/users             admin       {username, role, password} -> 201 the user
 *   PATCH /api/users/:username  admin       {role?, disabled?, password?}; a new password or a
 *                                           disable ends that user's sessions
 *
 * A refused sign-in is the same 401 WEB_LOGIN_FAILED whether the user is unknown, disabled or the
 * password wrong, and costs the same hash (users.ts verifyCredentials). Sign-in, setup and password
 * change count against the per-address limit, sign-in and password change against the per-account
 * lockout (login-limits.ts): 429 WEB_RATE_LIMITED with Retry-After. Every change and every sign-in,
 * failed ones too, is an `audit` event with the client's address, committed with the change. A
 * password or token is never logged or audited; the session token travels only in the cookie.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Instant } from '../../alarms/types.js';
import type {
  LoginRequest,
  Session,
  SetupRequest,
  SetupState,
  WebUserCreateRequest,
  WebUserList,
  WebUserUpdateRequest,
  WebUserView,
} from '../api-types.js';
import { clearedSessionCookie, sessionCookie, sessionOf } from '../access.js';
import type { LoginLimits } from '../accounts/login-limits.js';
import { checkPasswordRules, MAX_PASSWORD_LENGTH } from '../accounts/passwords.js';
import type { LiveSession, WebSessions } from '../accounts/sessions.js';
import type { SetupToken } from '../accounts/setup-token.js';
import {
  accountAudit,
  changeOwnPassword,
  createWebUser,
  findWebUser,
  hasAdmin,
  listWebUsers,
  recordLogin,
  updateWebUser,
  USERNAME_RE,
  verifyCredentials,
  WEB_ROLES,
} from '../accounts/users.js';
import { WebError } from '../errors.js';
import { actorOf, type WebStorePort, type WebUser } from '../ports.js';

/** What the Session answer says about the cabinet (GatewayConfig: gatewayId, site.name, the time zone). */
export interface WebSiteFacts {
  gatewayId: string;
  siteName: string;
  /** IANA time zone the pages show every time in. */
  timeZone: string;
}

export interface AccountRoutesOptions {
  store: WebStorePort;
  sessions: WebSessions;
  limits: LoginLimits;
  /** The setup link's token of this start; null when an admin existed at start. */
  setup: SetupToken | null;
  site: WebSiteFacts;
  insecureCookies: boolean;
  clock: () => Instant;
}

/** POST /api/password (not in api-types.ts yet). */
interface PasswordChangeRequest {
  currentPassword: string;
  newPassword: string;
}

const SIGNED_IN = { cabinetAccess: { roles: ['technician'] } } as const;
const ADMIN = { cabinetAccess: { roles: ['admin'] } } as const;
const PUBLIC = { cabinetAccess: { public: true } } as const;

const role = { type: 'string', enum: [...WEB_ROLES] } as const;
const password = { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_LENGTH } as const;
const newUsername = { type: 'string', pattern: USERNAME_RE.source } as const;

const sessionSchema = {
  type: 'object',
  required: [
    'username',
    'role',
    'timeZone',
    'gatewayId',
    'siteName',
    'idleExpiresWallMs',
    'absoluteExpiresWallMs',
  ],
  additionalProperties: false,
  properties: {
    username: { type: 'string' },
    role,
    timeZone: { type: 'string' },
    gatewayId: { type: 'string' },
    siteName: { type: 'string' },
    idleExpiresWallMs: { type: 'integer' },
    absoluteExpiresWallMs: { type: 'integer' },
  },
} as const;

const userSchema = {
  type: 'object',
  required: ['username', 'role', 'disabled', 'createdWallMs', 'lastLoginWallMs'],
  additionalProperties: false,
  properties: {
    username: { type: 'string' },
    role,
    disabled: { type: 'boolean' },
    createdWallMs: { type: 'integer' },
    lastLoginWallMs: { type: ['integer', 'null'] },
  },
} as const;

function closedBody(required: string[], properties: Record<string, unknown>): Record<string, unknown> {
  return { type: 'object', required, additionalProperties: false, properties };
}

const usernameParams = closedBody(['username'], { username: newUsername });

/** Sends nothing: sets Retry-After and throws the one answer of every sign-in limit. */
function tooManyAttempts(reply: FastifyReply, retryAfterS: number): never {
  reply.header('retry-after', String(retryAfterS));
  throw new WebError('WEB_RATE_LIMITED', `too many sign-in attempts; try again in ${retryAfterS} s`);
}

export function registerAccountRoutes(app: FastifyInstance, options: AccountRoutesOptions): void {
  const { store, sessions, limits, setup, site, insecureCookies, clock } = options;

  const sessionAnswer = (user: WebUser, session: LiveSession): Session => ({
    username: user.username,
    role: user.role,
    timeZone: site.timeZone,
    gatewayId: site.gatewayId,
    siteName: site.siteName,
    ...sessions.expiryOf(session),
  });

  /** A new session for `user` with the cookie on the reply. */
  const signIn = (reply: FastifyReply, user: WebUser, passwordHash: string): Session => {
    const { token, session } = sessions.create(user.username, passwordHash);
    reply.header('set-cookie', sessionCookie(token, insecureCookies, sessions.secondsLeft(session)));
    return sessionAnswer(user, session);
  };

  const currentSession = (
    request: FastifyRequest,
  ): { user: WebUser; token: string; session: LiveSession } => {
    const found = sessionOf(request);
    const user = request.webUser;
    // The guard sets both on every signed-in route; absent here is a programming error.
    if (found === null || user === null) throw new WebError('WEB_AUTH_REQUIRED', 'sign in first');
    return { user, ...found };
  };

  app.get(
    '/api/session',
    {
      config: SIGNED_IN,
      schema: { summary: 'The signed-in session', tags: ['accounts'], response: { 200: sessionSchema } },
    },
    async (request): Promise<Session> => {
      const { user, session } = currentSession(request);
      return sessionAnswer(user, session);
    },
  );

  app.post<{ Body: LoginRequest }>(
    '/api/login',
    {
      config: PUBLIC,
      schema: {
        summary: 'Sign in; sets the session cookie',
        tags: ['accounts'],
        body: closedBody(['username', 'password'], {
          username: { type: 'string', minLength: 1, maxLength: 64 },
          password,
        }),
        response: { 200: sessionSchema },
      },
    },
    async (request, reply): Promise<Session> => {
      const { username, password: given } = request.body;
      const address = request.ip;
      const addressWait = limits.claimAddress(address);
      if (addressWait > 0) tooManyAttempts(reply, addressWait);
      const accountWait = limits.claimAccount(username);
      if (accountWait > 0) tooManyAttempts(reply, accountWait);
      const verified = await verifyCredentials(store, username, given);
      if (verified === null) {
        const lockedForS = limits.lockedForS(username);
        store.commit({
          events: [
            accountAudit(
              { username: 'anonymous', address },
              'web.login_failed',
              username,
              lockedForS > 0 ? { lockedForS } : {},
            ),
          ],
        });
        throw new WebError('WEB_LOGIN_FAILED', 'sign-in refused: wrong username or password');
      }
      limits.succeeded(username);
      const { user } = verified;
      const passwordHash = await recordLogin(store, user, given, verified.rehash, { username, address });
      return signIn(reply, { username: user.username, role: user.role }, passwordHash);
    },
  );

  app.post(
    '/api/logout',
    {
      config: SIGNED_IN,
      schema: {
        summary: 'Sign out: ends this session',
        tags: ['accounts'],
        response: { 204: { type: 'null' } },
      },
    },
    async (request, reply) => {
      const { user, token } = currentSession(request);
      sessions.revoke(token);
      store.commit({ events: [accountAudit(actorOf(request), 'web.logout', user.username)] });
      return reply.code(204).header('set-cookie', clearedSessionCookie(insecureCookies)).send();
    },
  );

  app.get(
    '/api/setup',
    {
      config: PUBLIC,
      schema: {
        summary: 'Whether the first admin is still to be made',
        tags: ['accounts'],
        response: { 200: closedBody(['needed'], { needed: { type: 'boolean' } }) },
      },
    },
    async (): Promise<SetupState> => ({ needed: !hasAdmin(store) }),
  );

  app.post<{ Body: SetupRequest }>(
    '/api/setup',
    {
      config: PUBLIC,
      schema: {
        summary: 'Make the first admin with the one-time token of the setup link',
        tags: ['accounts'],
        body: closedBody(['token', 'username', 'password'], {
          token: { type: 'string', minLength: 1, maxLength: 128 },
          username: newUsername,
          password,
        }),
        response: { 201: sessionSchema },
      },
    },
    async (request, reply): Promise<Session> => {
      const { token, username, password: chosen } = request.body;
      const address = request.ip;
      const addressWait = limits.claimAddress(address);
      if (addressWait > 0) tooManyAttempts(reply, addressWait);
      if (hasAdmin(store)) throw new WebError('WEB_SETUP_DONE', 'an admin exists already; sign in instead');
      if (setup === null || !setup.take(token, clock().monoMs)) {
        throw new WebError(
          'WEB_SETUP_TOKEN_INVALID',
          'the setup link is wrong, used or older than an hour; restart the gateway for a new one',
        );
      }
      try {
        await createWebUser(
          store,
          { username, role: 'admin', password: chosen },
          { username, address },
          'web.setup',
        );
        setup.finish();
      } catch (error) {
        setup.release();
        throw error;
      }
      const made = findWebUser(store, username);
      if (made === null) throw new WebError('WEB_NOT_FOUND', `no user '${username}'`);
      reply.code(201);
      return signIn(reply, { username, role: 'admin' }, made.passwordHash);
    },
  );

  app.post<{ Body: PasswordChangeRequest }>(
    '/api/password',
    {
      config: SIGNED_IN,
      schema: {
        summary: "Change one's own password; every own session ends and this one is renewed",
        tags: ['accounts'],
        body: closedBody(['currentPassword', 'newPassword'], {
          currentPassword: password,
          newPassword: password,
        }),
        response: { 200: sessionSchema },
      },
    },
    async (request, reply): Promise<Session> => {
      const { user } = currentSession(request);
      const actor = actorOf(request);
      // A refused new password is the user's typing, not a guess: it is answered before anything
      // counts against the account's lockout.
      checkPasswordRules(request.body.newPassword, user.username);
      const addressWait = limits.claimAddress(actor.address);
      if (addressWait > 0) tooManyAttempts(reply, addressWait);
      const accountWait = limits.claimAccount(user.username);
      if (accountWait > 0) tooManyAttempts(reply, accountWait);
      const passwordHash = await changeOwnPassword(
        store,
        user.username,
        request.body.currentPassword,
        request.body.newPassword,
        actor,
      );
      limits.succeeded(user.username);
      sessions.revokeUser(user.username);
      return signIn(reply, user, passwordHash);
    },
  );

  app.get(
    '/api/users',
    {
      config: ADMIN,
      schema: {
        summary: 'Every user of the cabinet UI',
        tags: ['accounts'],
        response: { 200: closedBody(['users'], { users: { type: 'array', items: userSchema } }) },
      },
    },
    async (): Promise<WebUserList> => ({ users: listWebUsers(store) }),
  );

  app.post<{ Body: WebUserCreateRequest }>(
    '/api/users',
    {
      config: ADMIN,
      schema: {
        summary: 'Add a user',
        tags: ['accounts'],
        body: closedBody(['username', 'role', 'password'], { username: newUsername, role, password }),
        response: { 201: userSchema },
      },
    },
    async (request, reply): Promise<WebUserView> => {
      const user = await createWebUser(store, request.body, actorOf(request));
      reply.code(201);
      return user;
    },
  );

  app.patch<{ Params: { username: string }; Body: WebUserUpdateRequest }>(
    '/api/users/:username',
    {
      config: ADMIN,
      schema: {
        summary: 'Change a user: role, disabled, a new password (these end its sessions)',
        tags: ['accounts'],
        params: usernameParams,
        body: { ...closedBody([], { role, disabled: { type: 'boolean' }, password }), minProperties: 1 },
        response: { 200: userSchema },
      },
    },
    async (request): Promise<WebUserView> => {
      const { username } = request.params;
      const result = await updateWebUser(store, username, request.body, actorOf(request));
      if (result.endSessions) sessions.revokeUser(username);
      return result.user;
    },
  );
}
