/**
 * The cabinet web app on a real gateway store (openGatewayStore on a temporary folder, the one
 * commit path through createCommitter), with a hand-moved clock for sessions, sign-in limits and
 * the setup token, for the tests of gateway/web. Requests go through app.inject(); server.test.ts
 * listens for real.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import type { Instant } from '../../../gateway/alarms/types.js';
import { EventBus } from '../../../gateway/events/event-bus.js';
import { createCommitter } from '../../../gateway/store/committer.js';
import { openGatewayStore, type GatewayStore } from '../../../gateway/store/event-store.js';
import { createWebUser } from '../../../gateway/web/accounts/users.js';
import { usePasswordScryptForTests } from '../../../gateway/web/accounts/passwords.js';
import { buildWebApp, type WebAppOptions } from '../../../gateway/web/app.js';
import type { WebRole } from '../../../gateway/web/api-types.js';
import type { WebStorePort } from '../../../gateway/web/ports.js';

// A cheap hash: the suites sign in hundreds of times (passwords.test.ts checks the real cost).
usePasswordScryptForTests({ n: 16, r: 8, p: 1 });

/** A clock the test moves by hand. */
export interface TestClock {
  now(): Instant;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let monoMs = 1_000;
  let wallMs = Date.UTC(2025, 5, 1, 8, 0, 0);
  return {
    now: () => ({ monoMs, wallMs }),
    advance(ms) {
      monoMs += ms;
      wallMs += ms;
    },
  };
}

/** Headers of a request the cabinet's own page makes (the cross-site check, access.ts). */
export const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' } as const;

export const SITE = {
  gatewayId: 'harbour-road-07',
  siteName: 'Harbour Road cabinet 7',
  timeZone: 'Asia/Shanghai',
};

export const PASSWORDS = {
  admin: 'admin-password-1234',
  tech: 'tech-password-5678',
} as const;

export interface WebHarness {
  app: FastifyInstance;
  store: GatewayStore;
  port: WebStorePort;
  clock: TestClock;
  dataDir: string;
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Adds a user directly (as the CLI would). */
  addUser(username: string, role: WebRole, password: string): Promise<void>;
  /** Signs in and returns the Cookie header value; fails the test when refused. */
  login(username: string, password: string, remoteAddress?: string): Promise<string>;
  /** The audit table, oldest first. */
  auditRows(): Array<{ actor: string; action: string; target: string; detail: Record<string, unknown> }>;
  close(): Promise<void>;
}

export type HarnessOptions = Partial<Omit<WebAppOptions, 'store' | 'site' | 'clock'>>;

export async function webHarness(options: HarnessOptions = {}): Promise<WebHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kerbside-web-'));
  const store = openGatewayStore(dataDir, { logger: pino({ level: 'silent' }) });
  const committer = createCommitter(store, new EventBus());
  const port: WebStorePort = {
    read: (fn) => store.readTransaction(fn),
    commit: (cycle) => {
      committer.commit(cycle);
    },
    now: () => store.now(),
  };
  const clock = testClock();
  let app: FastifyInstance;
  try {
    app = await buildWebApp({
      assetsDir: join(dataDir, 'no-ui'),
      ...options,
      store: port,
      site: SITE,
      clock: clock.now,
    });
  } catch (error) {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const inject = (request: InjectOptions): Promise<LightMyRequestResponse> => app.inject(request);
  return {
    app,
    store,
    port,
    clock,
    dataDir,
    inject,
    async addUser(username, role, password) {
      await createWebUser(port, { username, role, password }, { username: 'cli-test' });
    },
    async login(username, password, remoteAddress = '127.0.0.1') {
      const response = await inject({
        method: 'POST',
        url: '/api/login',
        headers: SAME_ORIGIN,
        remoteAddress,
        payload: { username, password },
      });
      if (response.statusCode !== 200) throw new Error(`login of ${username} refused: ${response.body}`);
      return cookieOf(response);
    },
    auditRows() {
      return store.readTransaction((db) =>
        db
          .prepare<[], { actor: string; action: string; target: string; detail: string }>(
            'SELECT actor, action, target, detail FROM audit ORDER BY id',
          )
          .all()
          .map((row) => ({ ...row, detail: JSON.parse(row.detail) as Record<string, unknown> })),
      );
    },
    async close() {
      await app.close();
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `name=value` of the Set-Cookie of a response (for the next request's Cookie header). */
export function cookieOf(response: LightMyRequestResponse): string {
  const header = response.headers['set-cookie'];
  const first = Array.isArray(header) ? header[0] : header;
  if (first === undefined)
    throw new Error(`no Set-Cookie in the answer ${response.statusCode} ${response.body}`);
  return first.split(';')[0] ?? '';
}
