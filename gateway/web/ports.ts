/**
 * What the cabinet web server (gateway/web, docs/ui.md) is given by its composition root
 * (gateway/main.ts, simulators/demo.ts), and the route-guard vocabulary every route module uses.
 *
 * - WebStorePort: kerbside.db through the gateway's one commit path (store/committer.ts) and its
 *   read connection (GatewayStore.readTransaction: short read transactions, so the WAL stays
 *   bounded). The web server never opens the database itself.
 * - CabinetAccess: every route declares `config: { cabinetAccess: ... }`; the guard (access.ts)
 *   refuses to register a route without one, so an unguarded route cannot exist (the idea of the
 *   cloud's auth/plugin.ts, under another name: both augment fastify's FastifyContextConfig in one
 *   compilation).
 */
import type { FastifyRequest } from 'fastify';
import type { Instant } from '../alarms/types.js';
import type { SqliteDatabase } from '../store/database.js';
import type { StoreCycle } from '../store/event-store.js';
import type { WebRole } from './api-types.js';

export interface WebStorePort {
  /** A short read transaction on the read-only connection (GatewayStore.readTransaction). */
  read<T>(fn: (db: SqliteDatabase) => T): T;
  /** One atomic commit through the gateway's Committer (events, audit and account rows together). */
  commit(cycle: StoreCycle): void;
  /** The store's clock: uptime (monotonic) and wall time of now. */
  now(): Instant;
}

/** Who may call a route: anyone (sign-in, setup, the page itself), or signed-in users of these roles. */
export type CabinetAccess = { public: true } | { roles: readonly WebRole[] };

/** The signed-in user of a request (set by the guard before the handler runs). */
export interface WebUser {
  username: string;
  role: WebRole;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    cabinetAccess?: CabinetAccess;
  }
  interface FastifyRequest {
    /** Set by the guard (access.ts) on every non-public route; null on public ones. */
    webUser: WebUser | null;
  }
}

/** Who did it and from where, for the audit trail of an action taken through the web UI. */
export interface WebActor {
  username: string;
  /** The client's address as fastify sees it (request.ip; with a trusted proxy, the forwarded one). */
  address: string;
}

/** The actor of a guarded request. Throws when called on a public route (a programming error). */
export function actorOf(request: FastifyRequest): WebActor {
  const user = request.webUser;
  if (user === null) throw new Error(`actorOf() on the public route ${request.routeOptions.url ?? ''}`);
  return { username: user.username, address: request.ip };
}
