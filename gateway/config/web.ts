/**
 * The `web` section's rules that relate several fields (the schema has the rest): plain HTTP only on
 * loopback unless asked for explicitly, insecure cookies only with plain HTTP, an idle expiry no
 * longer than the absolute one. And its resolution: certificate files relative to the
 * configuration file's folder, like dataDir.
 */
import { isAbsolute, resolve } from 'node:path';
import { isLoopbackHost } from '../enrollment/transport-policy.js';
import { isObj } from './json-object.js';
import type { WebConfig } from './types.js';
import type { Issue } from '../../cloud-sync/contract/errors.js';

export function checkWeb(doc: Record<string, unknown>, issues: Issue[]): void {
  const web = doc['web'];
  if (!isObj(web)) return;
  const tls = web['tls'];
  const host = typeof web['host'] === 'string' ? web['host'] : '0.0.0.0';
  const plain = tls === false;
  if (
    plain &&
    web['enabled'] !== false &&
    web['allowPlainHttpBeyondLoopback'] !== true &&
    !isLoopbackHost(host)
  ) {
    issues.push({
      pointer: '/web/tls',
      message: `plain HTTP (tls: false) is allowed only on a loopback host, not ${host}: passwords and session cookies would cross the network in clear text; keep tls on, listen on 127.0.0.1, or set allowPlainHttpBeyondLoopback: true behind a TLS proxy`,
    });
  }
  if (web['insecureCookies'] === true && !plain) {
    issues.push({
      pointer: '/web/insecureCookies',
      message:
        'insecureCookies is for plain HTTP (tls: false) only: over HTTPS the session cookie keeps Secure and the __Host- prefix',
    });
  }
  const idle = web['sessionIdleMinutes'];
  const absolute = web['sessionAbsoluteHours'];
  if (typeof idle === 'number' && typeof absolute === 'number' && idle > absolute * 60) {
    issues.push({
      pointer: '/web/sessionIdleMinutes',
      message: `an idle expiry of ${idle} minutes is longer than the absolute expiry of ${absolute} h; it would never apply`,
    });
  }
}

/** The section with certificate paths made absolute against `baseDir` (the configuration file's folder). */
export function resolveWeb(web: WebConfig, baseDir: string): WebConfig {
  if (typeof web.tls === 'boolean') return web;
  const absolute = (path: string): string => (isAbsolute(path) ? path : resolve(baseDir, path));
  return { ...web, tls: { certFile: absolute(web.tls.certFile), keyFile: absolute(web.tls.keyFile) } };
}
