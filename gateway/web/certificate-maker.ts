/**
 * Makes the web UI's self-signed certificate in a child process (certificate.ts forks it): the
 * `selfsigned` package and its X.509 stack (about 16 MiB resident) live and die with the child, so
 * the gateway does not carry them for the rest of its run after a first start. Receives a
 * CertificateRequest as JSON in argv[2], sends {cert, key} (PEM) back over the IPC channel.
 */
import { generate } from 'selfsigned';
import type { CertificateRequest } from './certificate.js';

const request = JSON.parse(process.argv[2] ?? '{}') as CertificateRequest;
const made = await generate([{ name: 'commonName', value: request.commonName }], {
  keyType: 'ec',
  curve: 'P-256',
  algorithm: 'sha256',
  notBeforeDate: new Date(request.notBeforeMs),
  notAfterDate: new Date(request.notAfterMs),
  extensions: [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: request.altNames },
  ],
});
process.send?.({ cert: made.cert, key: made.private }, () => process.disconnect());
