/**
 * The web UI's certificate (gateway/web/certificate.ts): made once, kept owner-only, reused, made
 * again when expired or damaged; an installer's own files are checked, never replaced.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CERTIFICATE_VALIDITY_DAYS, ensureCertificate, TLS_DIR } from '../../../gateway/web/certificate.js';

const DAY = 24 * 3_600_000;
const dirs: string[] = [];

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kerbside-tls-'));
  dirs.push(dir);
  return dir;
}

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const names = (): string[] => ['localhost', '127.0.0.1', '::1', 'cabinet-07', '192.168.10.7'];

describe('gateway/web certificate', () => {
  it('makes an ECDSA P-256 certificate for the cabinet’s names, 0600 in a 0700 folder, valid 825 days', async () => {
    const dir = dataDir();
    const now = new Date('2025-06-01T08:00:00Z');
    const made = await ensureCertificate({ dataDir: dir, now: () => now, names });
    assert.equal(made.source, 'generated');
    const x509 = new X509Certificate(made.cert);
    assert.equal(x509.publicKey.asymmetricKeyType, 'ec');
    assert.equal(x509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(
      x509.subjectAltName,
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:cabinet-07, IP Address:192.168.10.7',
    );
    assert.equal(new Date(x509.validTo).getTime() - now.getTime(), CERTIFICATE_VALIDITY_DAYS * DAY);
    assert.equal(made.fingerprint256, x509.fingerprint256);
    assert.match(made.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(statSync(join(dir, TLS_DIR)).mode & 0o777, 0o700);
    assert.equal(statSync(made.certPath).mode & 0o777, 0o600);
    assert.equal(statSync(made.keyPath).mode & 0o777, 0o600);
  });

  it('reuses the certificate at the next start, and makes a new one once it has expired', async () => {
    const dir = dataDir();
    const first = await ensureCertificate({ dataDir: dir, names });
    const second = await ensureCertificate({ dataDir: dir, names });
    assert.equal(second.source, 'reused');
    assert.equal(second.fingerprint256, first.fingerprint256);
    const later = new Date(Date.now() + (CERTIFICATE_VALIDITY_DAYS + 1) * DAY);
    const renewed = await ensureCertificate({ dataDir: dir, names, now: () => later });
    assert.equal(renewed.source, 'generated');
    assert.notEqual(renewed.fingerprint256, first.fingerprint256);
    assert.match(renewed.replacedBecause ?? '', /expired/);
  });

  it('makes a new one when the files are damaged or do not belong together', async () => {
    const dir = dataDir();
    const first = await ensureCertificate({ dataDir: dir, names });
    writeFileSync(first.certPath, 'not a certificate');
    const repaired = await ensureCertificate({ dataDir: dir, names });
    assert.equal(repaired.source, 'generated');
    const other = await ensureCertificate({ dataDir: dataDir(), names });
    writeFileSync(repaired.keyPath, other.key);
    const mismatched = await ensureCertificate({ dataDir: dir, names });
    assert.equal(mismatched.source, 'generated');
    assert.match(mismatched.replacedBecause ?? '', /key does not belong/);
  });

  it('uses an installer’s files as they are, and refuses unusable ones with WEB_TLS_INVALID', async () => {
    const source = await ensureCertificate({ dataDir: dataDir(), names });
    const dir = dataDir();
    const certFile = join(dir, 'mine.crt');
    const keyFile = join(dir, 'mine.key');
    writeFileSync(certFile, source.cert);
    writeFileSync(keyFile, source.key);
    const used = await ensureCertificate({ dataDir: dir, files: { certFile, keyFile } });
    assert.equal(used.source, 'files');
    assert.equal(used.fingerprint256, source.fingerprint256);
    writeFileSync(keyFile, 'broken');
    await assert.rejects(
      ensureCertificate({ dataDir: dir, files: { certFile, keyFile } }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'WEB_TLS_INVALID');
        assert.match(error.message, /mine\.crt/);
        return true;
      },
    );
    assert.equal(readFileSync(keyFile, 'utf8'), 'broken', 'never replaced');
  });
});
