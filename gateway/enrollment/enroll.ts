/**
 * The gateway side of enrollment (docs/enrollment.md): present a one-time token to the cloud's
 * `POST /api/v1/enroll`, receive the gateway id, MQTT credential and CA bundle, and store them in
 * the data directory. Over HTTPS the server is always verified: against `caFile` when given
 * (and only against it), else against the system trust store. Verification is never turned off.
 * Plain HTTP is refused beyond loopback unless `allowInsecureHttp` (transport-policy.ts). The answer
 * must carry the cloud's downlink public keys, which are pinned with the credential next to the CA
 * (docs/downlink-signing.md): the gateway refuses every command they do not verify.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFile } from 'node:fs/promises';
import { keyIdOf } from '../../cloud-sync/contract/signing.js';
import { GatewayEnrollmentError } from './errors.js';
import { requireSecureEnrollmentUrl } from './transport-policy.js';
import {
  credentialProblems,
  downlinkKeyProblems,
  looksLikePemCertificates,
  writeUplinkCredentials,
  type UplinkCredentials,
} from './credentials.js';

export const ENROLL_PATH = 'api/v1/enroll';
/** A CA bundle of a few certificates is a few KiB; anything near this is not an enrollment answer. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 15_000;

export interface EnrollmentResponse extends UplinkCredentials {
  caBundle: string | null;
}

export interface RequestEnrollmentOptions {
  /** Base URL of the cloud service (`https://cloud.example/`); the endpoint is `api/v1/enroll` below it. */
  url: string;
  token: string;
  /** PEM file of the CA the HTTPS server's certificate must chain to (replaces the system store). */
  caFile?: string;
  timeoutMs?: number;
  /** Accept plain http:// to a host that is not loopback (the CLI's `--insecure-http`). */
  allowInsecureHttp?: boolean;
}

/** The endpoint URL for a base URL; only http: and https: are accepted. */
export function enrollEndpoint(base: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new GatewayEnrollmentError('ENROLL_TRANSPORT', `invalid enrollment URL ${JSON.stringify(base)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new GatewayEnrollmentError(
      'ENROLL_TRANSPORT',
      `enrollment URL must be http:// or https://, not ${url.protocol}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new GatewayEnrollmentError(
      'ENROLL_TRANSPORT',
      'enrollment URL must not carry a user name or password',
    );
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return new URL(ENROLL_PATH, url);
}

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        response.destroy(new Error('response too large'));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

function validateResponse(value: unknown): EnrollmentResponse {
  const problems = credentialProblems(value);
  problems.push(...downlinkKeyProblems((value as { downlinkKeys?: unknown } | null)?.downlinkKeys, true));
  const caBundle = (value as { caBundle?: unknown } | null)?.caBundle;
  if (caBundle !== null && (typeof caBundle !== 'string' || !looksLikePemCertificates(caBundle))) {
    problems.push('caBundle: neither null nor PEM certificates');
  }
  if (problems.length > 0) {
    throw new GatewayEnrollmentError(
      'ENROLL_BAD_RESPONSE',
      `invalid enrollment response: ${problems.join('; ')}`,
    );
  }
  const response = value as EnrollmentResponse;
  return {
    gatewayId: response.gatewayId,
    mqtt: {
      url: response.mqtt.url,
      username: response.mqtt.username,
      password: response.mqtt.password,
      clientId: response.mqtt.clientId,
    },
    downlinkKeys: [...response.downlinkKeys],
    caBundle: response.caBundle,
  };
}

/** POSTs the token; resolves with the validated response. Never writes anything. */
export async function requestEnrollment(options: RequestEnrollmentOptions): Promise<EnrollmentResponse> {
  const endpoint = enrollEndpoint(options.url);
  requireSecureEnrollmentUrl(endpoint, options.allowInsecureHttp === true);
  const https = endpoint.protocol === 'https:';
  let ca: Buffer | undefined;
  if (options.caFile !== undefined) {
    if (!https) {
      throw new GatewayEnrollmentError(
        'ENROLL_TRANSPORT',
        'a CA file was given but the enrollment URL is not https://',
      );
    }
    try {
      ca = await readFile(options.caFile);
    } catch (error) {
      throw new GatewayEnrollmentError('ENROLL_TRANSPORT', `cannot read CA file ${options.caFile}`, {
        cause: error,
      });
    }
  }
  const body = JSON.stringify({ token: options.token });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const requestOptions = {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        accept: 'application/json',
      },
      timeout: timeoutMs,
      // rejectUnauthorized stays at its default (true); `ca` replaces the system store when given.
      ...(ca === undefined ? {} : { ca }),
    };
    const onResponse = (response: IncomingMessage): void => {
      readBody(response).then((text) => resolve({ status: response.statusCode ?? 0, text }), reject);
    };
    const request = https
      ? httpsRequest(endpoint, requestOptions, onResponse)
      : httpRequest(endpoint, requestOptions, onResponse);
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) =>
      reject(
        new GatewayEnrollmentError(
          'ENROLL_TRANSPORT',
          `enrollment request to ${endpoint.origin} failed: ${error.message}`,
          {
            cause: error,
          },
        ),
      ),
    );
    request.end(body);
  });

  if (status === 401) {
    throw new GatewayEnrollmentError(
      'ENROLL_REFUSED',
      'the cloud refused the enrollment token (unknown, already used, expired, or the gateway is disabled): ask for a new token',
    );
  }
  if (status !== 200) {
    let detail = '';
    try {
      const message = (JSON.parse(text) as { message?: unknown }).message;
      if (typeof message === 'string') detail = `: ${message.slice(0, 300)}`;
    } catch {
      // Not JSON: the status alone says enough.
    }
    throw new GatewayEnrollmentError('ENROLL_TRANSPORT', `enrollment failed with HTTP ${status}${detail}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GatewayEnrollmentError('ENROLL_BAD_RESPONSE', 'enrollment response is not JSON');
  }
  return validateResponse(parsed);
}

export interface EnrollOptions extends RequestEnrollmentOptions {
  /** Where `uplink-credentials.json` and `uplink-ca.pem` are written. */
  dataDir: string;
}

export interface EnrollResult {
  gatewayId: string;
  /** Ids of the downlink keys pinned (contract/signing.ts keyIdOf). */
  downlinkKeyIds: string[];
  credentialsFile: string;
  caFile: string | null;
}

/** Enrolls: request, validate, store atomically. The secret is never returned or printed. */
export async function enroll(options: EnrollOptions): Promise<EnrollResult> {
  const response = await requestEnrollment(options);
  const written = await writeUplinkCredentials(options.dataDir, response, response.caBundle);
  return { gatewayId: response.gatewayId, downlinkKeyIds: response.downlinkKeys.map(keyIdOf), ...written };
}
