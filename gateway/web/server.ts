/**
 * Starts the cabinet web server (docs/auth.md, "The cabinet's accounts"): the composition root
 * (gateway/main.ts, simulators/demo.ts) calls startWebServer when `web.enabled`, after the store is
 * open, and close() before the store closes.
 *
 * - HTTPS by default, with the certificate of certificate.ts; its SHA-256 fingerprint is logged at
 *   info at every start so a technician can compare it with the one the browser shows. Plain HTTP
 *   only when web.tls is false AND the host is loopback, or with web.allowPlainHttpBeyondLoopback
 *   (the configuration check refuses it earlier too, gateway/config/web.ts; this is the second
 *   lock, for callers that build a WebConfig themselves).
 * - No default password: while no enabled admin exists, each start makes a one-time setup token
 *   (accounts/setup-token.ts) and logs ONE warn line with the link
 *   `https://<host>:<port>/#/setup?token=<token>`. This is on purpose the one place a secret is
 *   written to the log: the installer at the cabinet has the log and nothing else. It is not a
 *   field (runtime/log-redaction.ts would censor a `token` field), the link puts it in the URL's
 *   fragment, which a browser never sends to a server (RFC 3986 section 3.5), so no access log or
 *   proxy sees it, and the page posts it in a request body, which is never logged. It works once
 *   and for an hour.
 */
import type { FastifyInstance } from 'fastify';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { Instant } from '../alarms/types.js';
import type { WebConfig } from '../config/types.js';
import { isLoopbackHost } from '../enrollment/transport-policy.js';
import { hasAdmin } from './accounts/users.js';
import { SetupToken } from './accounts/setup-token.js';
import { buildWebApp, type WebSiteFacts } from './app.js';
import { ensureCertificate } from './certificate.js';
import { WebError } from './errors.js';
import type { WebStorePort } from './ports.js';

export interface StartWebServerOptions {
  /** The configuration's `web` section (gateway/config/types.ts WebConfig). */
  config: WebConfig;
  /** The gateway's data folder: the generated certificate goes to <dataDir>/web-tls/. */
  dataDir: string;
  logger: Logger;
  store: WebStorePort;
  site: WebSiteFacts;
  /** The data routes (gateway/web/routes/index.ts registerCabinetRoutes, wired by the caller). */
  registerRoutes?: (app: FastifyInstance) => void | Promise<void>;
  /** The built UI; default dist/ui/cabinet of this checkout. */
  assetsDir?: string;
  /** Tests: the clock of sessions, limits and the setup token. */
  clock?: () => Instant;
}

export interface WebServer {
  /** Where to open the UI: for a wildcard host the first LAN address (else loopback). */
  url: string;
  /** Every address the UI answers on, loopback first. */
  urls: string[];
  /** SHA-256 of the certificate (`AA:BB:...`); null on plain HTTP. */
  fingerprint: string | null;
  /** The setup link of this start, when no admin existed (also logged once); null otherwise. */
  setupUrl: string | null;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Throws WEB_PLAIN_HTTP_REFUSED for plain HTTP beyond loopback unless allowed, or insecure cookies with TLS. */
export function checkWebTransport(
  config: Pick<WebConfig, 'tls' | 'host' | 'allowPlainHttpBeyondLoopback' | 'insecureCookies'>,
): void {
  if (config.tls === false && !isLoopbackHost(config.host) && !config.allowPlainHttpBeyondLoopback) {
    throw new WebError(
      'WEB_PLAIN_HTTP_REFUSED',
      `web.tls is false on ${config.host}, beyond loopback: passwords and session cookies would cross the network in clear text; keep web.tls, listen on 127.0.0.1, or set web.allowPlainHttpBeyondLoopback`,
    );
  }
  if (config.insecureCookies && config.tls !== false) {
    throw new WebError(
      'WEB_PLAIN_HTTP_REFUSED',
      'web.insecureCookies is for plain HTTP only (web.tls: false)',
    );
  }
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The addresses a wildcard listener answers on, for the printed links: loopback first, then the LAN. */
function reachableHosts(host: string): string[] {
  const wildcardV4 = host === '0.0.0.0';
  const wildcardV6 = host === '::' || host === '[::]';
  if (!wildcardV4 && !wildcardV6) return [host];
  const lan: string[] = [];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.internal) continue;
      if (address.family === 'IPv4' || (wildcardV6 && !address.address.toLowerCase().startsWith('fe80:'))) {
        lan.push(address.address);
      }
    }
  }
  return ['127.0.0.1', ...lan];
}

export async function startWebServer(options: StartWebServerOptions): Promise<WebServer> {
  const { config, logger, store } = options;
  checkWebTransport(config);
  const certificate =
    config.tls === false
      ? null
      : await ensureCertificate({
          dataDir: options.dataDir,
          ...(config.tls === true ? {} : { files: config.tls }),
        });
  if (certificate !== null) {
    logger.info(
      {
        fingerprint256: certificate.fingerprint256,
        certificate: certificate.certPath,
        certificateSource: certificate.source,
        validTo: certificate.validTo.toISOString(),
        ...(certificate.replacedBecause === undefined
          ? {}
          : { replacedBecause: certificate.replacedBecause }),
      },
      `web UI certificate SHA-256 fingerprint ${certificate.fingerprint256}: compare it with the one your browser shows before you accept the certificate`,
    );
  }

  const clock = options.clock ?? ((): Instant => store.now());
  const issued = hasAdmin(store) ? null : SetupToken.issue(clock().monoMs);
  const app = await buildWebApp({
    store,
    site: options.site,
    logger,
    https: certificate === null ? undefined : { key: certificate.key, cert: certificate.cert },
    insecureCookies: config.insecureCookies,
    sessions: {
      idleMs: config.sessionIdleMinutes * 60_000,
      absoluteMs: config.sessionAbsoluteHours * 3_600_000,
    },
    setup: issued?.setup ?? null,
    clock,
    ...(options.registerRoutes === undefined ? {} : { registerRoutes: options.registerRoutes }),
    ...(options.assetsDir === undefined ? {} : { assetsDir: options.assetsDir }),
  });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address();
  const port = address !== null && typeof address === 'object' ? address.port : config.port;
  const scheme = certificate === null ? 'http' : 'https';
  const urls = reachableHosts(config.host).map((host) => `${scheme}://${urlHost(host)}:${port}/`);
  // The LAN address a technician's laptop reaches, else the one address there is.
  const url =
    urls.find((u) => !u.includes('://127.0.0.1:')) ??
    urls[0] ??
    `${scheme}://${urlHost(config.host)}:${port}/`;
  logger.info({ url, urls, tls: certificate !== null }, `cabinet web UI at ${url}`);
  let setupUrl: string | null = null;
  if (issued !== null) {
    setupUrl = `${url}#/setup?token=${issued.token}`;
    // The one deliberate print of a secret (see the header): in the message, never as a field.
    logger.warn(
      `no admin account yet: open ${setupUrl} within an hour to make the first admin (the link works once; each start makes a new one until an admin exists)`,
    );
  }
  return {
    url,
    urls,
    fingerprint: certificate?.fingerprint256 ?? null,
    setupUrl,
    app,
    close: () => app.close(),
  };
}
