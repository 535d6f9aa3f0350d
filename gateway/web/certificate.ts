/**
 * The web UI's TLS certificate (docs/auth.md, "The cabinet's accounts"; docs/security.md). A cabinet
 * has no public name a certificate authority could vouch for, so on first start the gateway makes
 * its own: self-signed, ECDSA P-256 with SHA-256 (the `selfsigned` package), naming localhost,
 * 127.0.0.1, ::1, the host name and the cabinet's non-internal IPv4 and IPv6 addresses
 * (os.networkInterfaces) as subjectAltName, so a browser can match whichever address the
 * technician types. The browser warns about a certificate it cannot trust; the technician compares
 * the SHA-256 fingerprint the gateway logs at every start with the one the browser shows, and
 * accepts it once.
 *
 * Valid 825 days: the longest validity Apple's platforms accept for a TLS server certificate
 * issued after 2019-07-01, even one the user trusts by hand ("Requirements for trusted
 * certificates in iOS 13 and macOS 10.15"), and the CA/Browser Forum's limit of that time; a
 * longer one would be refused outright on a technician's iPhone or Mac.
 *
 * Kept in <dataDir>/web-tls/{cert.pem,key.pem}, both 0600 in a 0700 folder, written atomically
 * (runtime/files.ts), and reused at the next start; made again when missing, unreadable, not a
 * matching pair, or expired. web.tls {certFile, keyFile} uses an installer's own files instead,
 * which are checked the same way but never replaced.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fork } from 'node:child_process';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../runtime/files.js';
import { WebError } from './errors.js';

export const CERTIFICATE_VALIDITY_DAYS = 825;
export const TLS_DIR = 'web-tls';
const CERT_FILE = 'cert.pem';
const KEY_FILE = 'key.pem';

export interface WebCertificate {
  cert: string;
  key: string;
  /** SHA-256 of the certificate (DER), `AA:BB:...`: what a browser shows and node:tls reports. */
  fingerprint256: string;
  validTo: Date;
  /** `generated` now, `reused` from an earlier start, or the installer's `files`. */
  source: 'generated' | 'reused' | 'files';
  certPath: string;
  keyPath: string;
  /** Why a kept certificate was not reused (it was made again), for the log. */
  replacedBecause?: string;
}

export interface CertificateOptions {
  dataDir: string;
  /** web.tls {certFile, keyFile}: use these instead of a generated certificate. */
  files?: { certFile: string; keyFile: string };
  /** Tests: the time to check expiry against and to date a new certificate from. */
  now?: () => Date;
  /** Tests: the names and addresses of a new certificate (default namesOfThisHost()). */
  names?: () => string[];
}

/** The names a browser may reach this cabinet by: loopback, the host name, every non-internal address. */
export function namesOfThisHost(): string[] {
  const names = new Set(['localhost', '127.0.0.1', '::1', hostname()]);
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      // Link-local IPv6 (fe80::/10) needs a zone id a URL cannot carry to a certificate check.
      if (!address.internal && !address.address.toLowerCase().startsWith('fe80:')) names.add(address.address);
    }
  }
  return [...names];
}

interface CheckedPair {
  fingerprint256: string;
  validTo: Date;
}

/** Parses and checks a PEM pair: a certificate, a key that matches it, not expired. Throws a reason. */
function checkPair(cert: string, key: string, now: Date): CheckedPair {
  const x509 = new X509Certificate(cert);
  if (!x509.checkPrivateKey(createPrivateKey(key)))
    throw new Error('the key does not belong to the certificate');
  const validTo = new Date(x509.validTo);
  if (!(validTo.getTime() > now.getTime()))
    throw new Error(`the certificate expired on ${validTo.toISOString()}`);
  return { fingerprint256: x509.fingerprint256, validTo };
}

/** What the certificate worker (certificate-maker.ts) is asked to make. */
export interface CertificateRequest {
  commonName: string;
  altNames: Array<{ type: 2; value: string } | { type: 7; ip: string }>;
  notBeforeMs: number;
  notAfterMs: number;
}

/** How long the certificate maker may take (it needs about a second) before it is killed. */
const CERTIFICATE_MAKER_TIMEOUT_MS = 30_000;

/** Makes the certificate in a child process (certificate-maker.ts says why). */
function makeCertificate(names: string[], now: Date): Promise<{ cert: string; key: string }> {
  const request: CertificateRequest = {
    commonName: `Kerbside cabinet ${hostname()}`,
    altNames: names.map((name) =>
      isIP(name) === 0 ? { type: 2 as const, value: name } : { type: 7 as const, ip: name },
    ),
    notBeforeMs: now.getTime(),
    notAfterMs: now.getTime() + CERTIFICATE_VALIDITY_DAYS * 24 * 3_600_000,
  };
  // A child process of this node (fork: IPC channel), from the build (plain node) or from the
  // source (tsx loaded in the child too).
  const fromSource = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(
    new URL(fromSource ? './certificate-maker.ts' : './certificate-maker.js', import.meta.url),
  );
  return new Promise((resolve, reject) => {
    const child = fork(file, [JSON.stringify(request)], {
      execArgv: fromSource ? ['--import', 'tsx'] : [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let answered = false;
    let stderr = '';
    // A maker that hangs must not hold the web UI's start (and a stop waiting for it) for ever.
    const timer = setTimeout(() => child.kill('SIGKILL'), CERTIFICATE_MAKER_TIMEOUT_MS);
    timer.unref();
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('message', (made: { cert: string; key: string }) => {
      answered = true;
      clearTimeout(timer);
      resolve(made);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!answered)
        reject(
          new Error(`the certificate maker exited (code ${code}) without a certificate: ${stderr.trim()}`),
        );
    });
  });
}

/** The certificate and key the web server serves (see the header). */
export async function ensureCertificate(options: CertificateOptions): Promise<WebCertificate> {
  const now = (options.now ?? ((): Date => new Date()))();
  if (options.files !== undefined) {
    const { certFile, keyFile } = options.files;
    try {
      const cert = readFileSync(certFile, 'utf8');
      const key = readFileSync(keyFile, 'utf8');
      return {
        cert,
        key,
        ...checkPair(cert, key, now),
        source: 'files',
        certPath: certFile,
        keyPath: keyFile,
      };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new WebError(
        'WEB_TLS_INVALID',
        `web.tls files ${certFile} and ${keyFile} cannot be used: ${reason}`,
        {
          cause: error,
        },
      );
    }
  }
  const dir = join(options.dataDir, TLS_DIR);
  const certPath = join(dir, CERT_FILE);
  const keyPath = join(dir, KEY_FILE);
  let replacedBecause: string | undefined;
  if (existsSync(certPath) || existsSync(keyPath)) {
    try {
      const cert = readFileSync(certPath, 'utf8');
      const key = readFileSync(keyPath, 'utf8');
      return { cert, key, ...checkPair(cert, key, now), source: 'reused', certPath, keyPath };
    } catch (error) {
      replacedBecause = error instanceof Error ? error.message : String(error);
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask, and an existing folder keeps its own: set it.
  chmodSync(dir, 0o700);
  const made = await makeCertificate((options.names ?? namesOfThisHost)(), now);
  // The key first: a certificate without its key is replaced at the next start anyway.
  await writeFileAtomic(keyPath, made.key, 0o600);
  await writeFileAtomic(certPath, made.cert, 0o600);
  return {
    ...made,
    ...checkPair(made.cert, made.key, now),
    source: 'generated',
    certPath,
    keyPath,
    ...(replacedBecause === undefined ? {} : { replacedBecause }),
  };
}
