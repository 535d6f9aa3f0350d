/**
 * The `web` section of the gateway configuration (schema.json, gateway/config/web.ts): HTTPS on the
 * LAN by default, plain HTTP only on loopback unless asked for, insecure cookies only with plain HTTP.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { assertIssue, refusedConfig, validConfig, validDocument } from './fixtures.js';

function withWeb(web: unknown): Record<string, unknown> {
  return { ...validDocument(), web };
}

describe('gateway config: web', () => {
  it('defaults to HTTPS on every IPv4 address, port 8443, 30 min idle and 12 h sessions', () => {
    assert.deepEqual(validConfig(validDocument()).web, {
      enabled: true,
      host: '0.0.0.0',
      port: 8443,
      tls: true,
      allowPlainHttpBeyondLoopback: false,
      insecureCookies: false,
      sessionIdleMinutes: 30,
      sessionAbsoluteHours: 12,
    });
  });

  it('takes certificate files relative to the configuration file', () => {
    const config = validConfig(
      withWeb({ tls: { certFile: 'tls/cabinet.crt', keyFile: '/etc/kerbside/cabinet.key' } }),
    );
    assert.deepEqual(config.web.tls, {
      certFile: '/srv/kerbside/tls/cabinet.crt',
      keyFile: '/etc/kerbside/cabinet.key',
    });
  });

  it('refuses plain HTTP beyond loopback unless allowPlainHttpBeyondLoopback, and allows it on loopback', () => {
    assertIssue(refusedConfig(withWeb({ tls: false })), '/web/tls', /loopback.*0\.0\.0\.0/);
    assertIssue(refusedConfig(withWeb({ tls: false, host: '192.168.1.5' })), '/web/tls', /clear text/);
    assert.equal(
      validConfig(withWeb({ tls: false, host: '127.0.0.1', insecureCookies: true })).web.tls,
      false,
    );
    assert.equal(
      validConfig(withWeb({ tls: false, allowPlainHttpBeyondLoopback: true })).web.host,
      '0.0.0.0',
    );
    assert.equal(validConfig(withWeb({ tls: false, enabled: false })).web.enabled, false, 'nothing listens');
  });

  it('refuses insecure cookies with TLS, an idle expiry past the absolute one, and unknown or bad fields', () => {
    assertIssue(refusedConfig(withWeb({ insecureCookies: true })), '/web/insecureCookies', /plain HTTP/);
    assertIssue(
      refusedConfig(withWeb({ sessionIdleMinutes: 120, sessionAbsoluteHours: 1 })),
      '/web/sessionIdleMinutes',
      /never apply/,
    );
    const issues = refusedConfig(withWeb({ port: 70000, tls: { certFile: 'a.crt' }, listen: 'all' }));
    assertIssue(issues, '/web/port', /65535/);
    assert.ok(
      issues.some((i) => i.pointer.startsWith('/web/tls')),
      JSON.stringify(issues),
    );
    assert.ok(
      issues.some((i) => i.pointer === '/web/listen'),
      JSON.stringify(issues),
    );
  });

  it('the example configuration shows the section with its defaults', () => {
    const example = JSON.parse(
      readFileSync(new URL('../../../gateway/config/example.json', import.meta.url), 'utf8'),
    ) as {
      web?: unknown;
    };
    assert.deepEqual(example.web, {
      host: '0.0.0.0',
      port: 8443,
      tls: true,
      sessionIdleMinutes: 30,
      sessionAbsoluteHours: 12,
    });
  });
});
