/**
 * Configuration of the cloud-sync service process: an optional JSON file, then environment
 * overrides (DATABASE_URL, MQTT_URL, MQTT_SERVICE_SECRET, KERBSIDE_SCRAPE_TOKEN, LOG_LEVEL), validated against
 * config-schema.ts with ajv. An invalid configuration is reported as every issue at once, each
 * with the JSON Pointer (RFC 6901) of the offending value, and main.ts exits 2.
 *
 * Relative paths in the file are relative to the file's folder (the service finds its files
 * however it is started); defaults and environment values are relative to the working directory.
 *
 * The resolved configuration holds key material and the service secret: never log it whole.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { resolveCasesConfig, type CasesConfig } from './cases/config.js';
import { underPointer } from './cases/config-error.js';
import { validateCasesConfig } from './cases/config-validate.js';
import { MIN_SCRAPE_TOKEN_LENGTH } from './api/scrape-token.js';
import { CLOUD_CONFIG_SCHEMA, LOG_LEVELS } from './config-schema.js';
import { createAjv, issuesOf } from '../contract/ajv.js';
import { formatIssue, KerbsideError, type ErrorCatalogue, type Issue } from '../contract/errors.js';
import { forbiddenKeyIssues } from '../contract/forbidden-keys.js';

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
}

/** The configuration after defaults, overrides and file reads. */
export interface CloudServiceConfig {
  database: { sqlitePath: string; url?: undefined } | { url: string; sqlitePath?: undefined };
  mqtt: {
    /** External broker; null runs the embedded one. */
    url: string | null;
    ca: Buffer | null;
    serviceAccount: string;
    /** Service secret for an external broker; null if the broker needs none. Embedded: generated. */
    secret: string | null;
    instanceId: string;
    shareGroup: string;
    /** Key of the keyed credential hashes (secrets/credential-key.ts); created at first start. */
    credentialKeyFile: string;
    embedded: {
      host: string;
      port: number;
      tls: (TlsFiles & { port: number }) | null;
      /** Absent: the broker's defaults (broker/connection-limits.ts, broker/refusals.ts). */
      maxConnectionsPerAddress?: number;
      refusalsBeforeThrottle?: number;
    };
  };
  http: {
    host: string;
    port: number;
    tls: TlsFiles | null;
    /** fastify's trustProxy (http.ts): a hop count or the proxies' addresses; false by default. */
    trustProxy: false | number | string[];
    /** The session cookie without Secure; loopback development only (auth/routes.ts). */
    insecureCookies: boolean;
    /** The scrape token of /metrics and the OpenAPI document; null: both refused (api/scrape-token.ts). */
    scrapeToken: string | null;
  };
  /** Given to gateways at enrollment; null gatewayMqttUrl: derived from the broker settings. */
  enrollment: { gatewayMqttUrl: string | null; caBundle: string | null };
  /** The downlink signing key file (docs/downlink-signing.md), resolved to an absolute path. */
  downlink: { signingKeyFile: string };
  ingest: { concurrency: number; maxPending: number };
  log: { level: LogLevel };
  /** The case service: defaults of cases/config.ts with the file's `cases` keys replacing theirs. */
  cases: CasesConfig;
}

export const CLOUD_CONFIG_ERRORS = {
  CLOUD_CONFIG_INVALID: {
    means: 'The cloud service configuration (file and environment) is invalid; `issues` lists every problem.',
  },
} as const satisfies ErrorCatalogue<string>;

export type CloudConfigErrorCode = keyof typeof CLOUD_CONFIG_ERRORS;

export class CloudConfigError extends KerbsideError<CloudConfigErrorCode> {
  override readonly name = 'CloudConfigError';
  // Narrowed to the mutable Issue[] the constructor takes: callers hand the list on as it is.
  declare readonly issues: Issue[];

  constructor(
    issues: Issue[],
    readonly file: string | null,
  ) {
    super(
      CLOUD_CONFIG_ERRORS,
      'CLOUD_CONFIG_INVALID',
      [
        `invalid cloud service configuration${file === null ? '' : ` ${file}`} (${issues.length} issue${issues.length === 1 ? '' : 's'})`,
        ...issues.map((issue) => `  ${formatIssue(issue)}`),
      ].join('\n'),
      { issues },
    );
  }
}

export const DEFAULTS = {
  sqlitePath: './data/cloud.sqlite',
  serviceAccount: 'ingest',
  shareGroup: 'kerbside-ingest',
  mqttHost: '127.0.0.1',
  mqttPort: 1883,
  mqttTlsPort: 8883,
  httpHost: '127.0.0.1',
  httpPort: 8080,
  concurrency: 8,
  maxPending: 1000,
  logLevel: 'info' as LogLevel,
  credentialKeyFileName: 'credential.key',
} as const;

/** Environment variables that override the file, and where they land in the document. */
const ENV_OVERRIDES = [
  { name: 'DATABASE_URL', pointer: '/database/url' },
  { name: 'MQTT_URL', pointer: '/mqtt/url' },
  { name: 'LOG_LEVEL', pointer: '/log/level' },
  { name: 'CREDENTIAL_KEY_FILE', pointer: '/mqtt/credentialKeyFile' },
  { name: 'DOWNLINK_SIGNING_KEY_FILE', pointer: '/downlink/signingKeyFile' },
] as const;

type Doc = Record<string, unknown>;

let validator: ValidateFunction | undefined;

function section(doc: Doc, key: string): Doc {
  const value = doc[key];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Doc;
  const created: Doc = {};
  doc[key] = created;
  return created;
}

export interface LoadOptions {
  /** Configuration file; null or absent: defaults only. */
  file?: string | null;
  env?: NodeJS.ProcessEnv;
  /** Folder that defaults and environment paths are relative to (default: the working directory). */
  cwd?: string;
}

/** Reads, overrides, validates and resolves the configuration; throws CloudConfigError. */
export function loadCloudConfig(options: LoadOptions = {}): CloudServiceConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ?? null;
  let doc: Doc = {};
  if (file !== null) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new CloudConfigError(
        [{ pointer: '', message: `cannot read the file: ${(error as Error).message}` }],
        file,
      );
    }
    let parsed: unknown;
    try {
      // Editors on Windows may save a byte order mark; JSON (RFC 8259 section 8.1) forbids it.
      parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch (error) {
      throw new CloudConfigError(
        [{ pointer: '', message: `malformed JSON: ${(error as Error).message}` }],
        file,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new CloudConfigError([{ pointer: '', message: 'must be a JSON object' }], file);
    }
    doc = parsed as Doc;
  }
  const fileDir = file === null ? cwd : dirname(resolve(cwd, file));
  return resolveDocument(doc, { env, cwd, fileDir, file });
}

/** Validates a parsed document (plus environment overrides) and applies the defaults. */
export function resolveDocument(
  input: Doc,
  context: { env: NodeJS.ProcessEnv; cwd: string; fileDir: string; file: string | null },
): CloudServiceConfig {
  const { env, cwd, fileDir, file } = context;
  // Refused before anything walks it (docs/security.md): JSON.parse keeps `__proto__` as a key.
  const forbidden = forbiddenKeyIssues(input);
  if (forbidden.length > 0) throw new CloudConfigError(forbidden, file);
  // Work on a copy: the overrides must not change the caller's object.
  const doc = structuredClone(input);
  /** Pointers whose value came from the environment, to say so in an issue. */
  const fromEnv = new Map<string, string>();
  for (const { name, pointer } of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined || value.trim() === '') continue;
    const [, sectionName, key] = pointer.split('/') as [string, string, string];
    const target = section(doc, sectionName);
    target[key] = name === 'LOG_LEVEL' ? value.trim().toLowerCase() : value.trim();
    fromEnv.set(pointer, name);
    // DATABASE_URL replaces the SQLite file rather than conflicting with it.
    if (name === 'DATABASE_URL') delete target['sqlitePath'];
  }

  validator ??= createAjv().compile(CLOUD_CONFIG_SCHEMA);
  const issues: Issue[] = [];
  if (!validator(doc)) {
    issues.push(
      ...issuesOf(validator.errors ?? [], {
        unknownProperty: 'is not a configuration field (check the spelling)',
      }),
    );
  }

  const d = doc as {
    database?: { sqlitePath?: string; url?: string };
    mqtt?: {
      url?: string;
      caFile?: string;
      serviceAccount?: string;
      secretFile?: string;
      instanceId?: string;
      shareGroup?: string;
      credentialKeyFile?: string;
      embedded?: {
        host?: string;
        port?: number;
        tls?: { port?: number; keyFile: string; certFile: string };
        maxConnectionsPerAddress?: number;
        refusalsBeforeThrottle?: number;
      };
    };
    http?: {
      host?: string;
      port?: number;
      tls?: { keyFile: string; certFile: string };
      trustProxy?: boolean | number | string[];
      insecureCookies?: boolean;
      scrapeTokenFile?: string;
    };
    enrollment?: { gatewayMqttUrl?: string; caFile?: string };
    downlink?: { signingKeyFile?: string };
    ingest?: { concurrency?: number; maxPending?: number };
    log?: { level?: LogLevel };
    cases?: Partial<CasesConfig>;
  };

  // Semantic checks beyond the schema, only on values that passed it (no piled-up messages).
  if (issues.length === 0) {
    if (d.http?.trustProxy === true) {
      // fastify's `true` takes the left-most X-Forwarded-For entry, which the client writes itself
      // (RFC 7239 section 8.1): every per-address limit would be the client's to choose.
      issues.push({
        pointer: '/http/trustProxy',
        message:
          "true is refused: it believes the client-written left-most X-Forwarded-For entry; give the number of proxy hops (1-16) or the proxies' addresses or CIDR ranges",
      });
    }
    if (d.database?.sqlitePath !== undefined && d.database.url !== undefined) {
      issues.push({ pointer: '/database', message: 'give sqlitePath or url, not both' });
    }
    const mqttUrl = d.mqtt?.url;
    if (mqttUrl !== undefined) {
      try {
        const parsed = new URL(mqttUrl);
        if (parsed.hostname === '') issues.push({ pointer: '/mqtt/url', message: 'has no host' });
        if (parsed.password !== '')
          issues.push({
            pointer: '/mqtt/url',
            message: 'must not carry a password: use mqtt.secretFile or MQTT_SERVICE_SECRET',
          });
      } catch {
        issues.push({ pointer: '/mqtt/url', message: 'is not a valid URL' });
      }
      if (d.mqtt?.caFile !== undefined && !mqttUrl.startsWith('mqtts://')) {
        issues.push({ pointer: '/mqtt/caFile', message: 'applies to an mqtts:// broker only' });
      }
    } else {
      for (const key of ['caFile', 'secretFile'] as const) {
        if (d.mqtt?.[key] !== undefined)
          issues.push({ pointer: `/mqtt/${key}`, message: 'applies to an external broker (mqtt.url) only' });
      }
    }
  }

  // Paths: from the file relative to its folder; from the environment or defaults to cwd.
  const filePath = (p: string): string => (isAbsolute(p) ? p : resolve(fileDir, p));
  const read = (pointer: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      issues.push({ pointer, message: `cannot read ${path}: ${(error as Error).message}` });
      return Buffer.alloc(0);
    }
  };

  if (issues.length > 0) {
    throw new CloudConfigError(
      issues.map((issue) => {
        const name = fromEnv.get(issue.pointer);
        return name === undefined ? issue : { ...issue, message: `${issue.message} (from ${name})` };
      }),
      file,
    );
  }

  const mqtt = d.mqtt ?? {};
  const embeddedTls = mqtt.embedded?.tls;
  const httpTls = d.http?.tls;
  // KERBSIDE_SCRAPE_TOKEN first, like MQTT_SERVICE_SECRET; never logged (api/scrape-token.ts).
  const envScrape = env['KERBSIDE_SCRAPE_TOKEN']?.trim();
  let scrapeToken: string | null = null;
  if (envScrape !== undefined && envScrape !== '') scrapeToken = envScrape;
  else if (d.http?.scrapeTokenFile !== undefined)
    scrapeToken = read('/http/scrapeTokenFile', filePath(d.http.scrapeTokenFile)).toString('utf8').trim();
  if (scrapeToken !== null && scrapeToken.length < MIN_SCRAPE_TOKEN_LENGTH) {
    issues.push({
      pointer: '/http/scrapeTokenFile',
      message: `the scrape token must have at least ${MIN_SCRAPE_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32)${envScrape !== undefined && envScrape !== '' ? ' (from KERBSIDE_SCRAPE_TOKEN)' : ''}`,
    });
  }
  let secret: string | null = null;
  const envSecret = env['MQTT_SERVICE_SECRET'];
  if (mqtt.url !== undefined) {
    if (envSecret !== undefined && envSecret !== '') secret = envSecret;
    else if (mqtt.secretFile !== undefined)
      secret = read('/mqtt/secretFile', filePath(mqtt.secretFile)).toString('utf8').trim();
  }
  /** A TLS key and certificate named by the document at `pointer` (`keyFile`, `certFile`). */
  const readKeyPair = (
    pointer: string,
    tls: { keyFile: string; certFile: string },
  ): { key: Buffer; cert: Buffer } => ({
    key: read(`${pointer}/keyFile`, filePath(tls.keyFile)),
    cert: read(`${pointer}/certFile`, filePath(tls.certFile)),
  });
  // The credential key lives with the data it keys (secrets/credential-key.ts): beside the SQLite
  // file, or, with PostgreSQL, beside the configuration file (else in ./data).
  const keyFileName = DEFAULTS.credentialKeyFileName;
  const credentialKeyFile =
    mqtt.credentialKeyFile !== undefined
      ? fromEnv.has('/mqtt/credentialKeyFile')
        ? resolve(cwd, mqtt.credentialKeyFile)
        : filePath(mqtt.credentialKeyFile)
      : d.database?.url === undefined
        ? join(
            dirname(
              d.database?.sqlitePath !== undefined
                ? filePath(d.database.sqlitePath)
                : resolve(cwd, DEFAULTS.sqlitePath),
            ),
            keyFileName,
          )
        : file !== null
          ? join(fileDir, keyFileName)
          : resolve(cwd, 'data', keyFileName);
  const config: CloudServiceConfig = {
    database:
      d.database?.url !== undefined
        ? { url: d.database.url }
        : {
            sqlitePath:
              d.database?.sqlitePath !== undefined
                ? filePath(d.database.sqlitePath)
                : resolve(cwd, DEFAULTS.sqlitePath),
          },
    mqtt: {
      url: mqtt.url ?? null,
      ca: mqtt.caFile === undefined ? null : read('/mqtt/caFile', filePath(mqtt.caFile)),
      serviceAccount: mqtt.serviceAccount ?? DEFAULTS.serviceAccount,
      secret,
      // Per start: two instances must never share a client id (the broker would disconnect one).
      instanceId: mqtt.instanceId ?? randomBytes(4).toString('hex'),
      shareGroup: mqtt.shareGroup ?? DEFAULTS.shareGroup,
      credentialKeyFile,
      embedded: {
        host: mqtt.embedded?.host ?? DEFAULTS.mqttHost,
        port: mqtt.embedded?.port ?? DEFAULTS.mqttPort,
        tls:
          embeddedTls === undefined
            ? null
            : {
                port: embeddedTls.port ?? DEFAULTS.mqttTlsPort,
                ...readKeyPair('/mqtt/embedded/tls', embeddedTls),
              },
        ...(mqtt.embedded?.maxConnectionsPerAddress === undefined
          ? {}
          : { maxConnectionsPerAddress: mqtt.embedded.maxConnectionsPerAddress }),
        ...(mqtt.embedded?.refusalsBeforeThrottle === undefined
          ? {}
          : { refusalsBeforeThrottle: mqtt.embedded.refusalsBeforeThrottle }),
      },
    },
    http: {
      host: d.http?.host ?? DEFAULTS.httpHost,
      port: d.http?.port ?? DEFAULTS.httpPort,
      tls: httpTls === undefined ? null : readKeyPair('/http/tls', httpTls),
      // `true` was refused above.
      trustProxy: d.http?.trustProxy === true ? false : (d.http?.trustProxy ?? false),
      insecureCookies: d.http?.insecureCookies ?? false,
      scrapeToken,
    },
    enrollment: {
      gatewayMqttUrl: d.enrollment?.gatewayMqttUrl ?? null,
      caBundle:
        d.enrollment?.caFile === undefined
          ? null
          : read('/enrollment/caFile', filePath(d.enrollment.caFile)).toString('utf8'),
    },
    downlink: {
      // By default in the credential key's folder (beside the SQLite file, or with PostgreSQL the
      // configuration file's): several instances must share one signing key (docs/downlink-signing.md).
      signingKeyFile:
        d.downlink?.signingKeyFile !== undefined
          ? fromEnv.has('/downlink/signingKeyFile')
            ? resolve(cwd, d.downlink.signingKeyFile)
            : filePath(d.downlink.signingKeyFile)
          : join(dirname(credentialKeyFile), 'downlink-signing-key.json'),
    },
    ingest: {
      concurrency: d.ingest?.concurrency ?? DEFAULTS.concurrency,
      maxPending: d.ingest?.maxPending ?? DEFAULTS.maxPending,
    },
    log: { level: d.log?.level ?? DEFAULTS.logLevel },
    cases: resolveCasesConfig(d.cases),
  };
  // Semantic checks of the case service (ids unique, categories exist, calendar valid).
  issues.push(...underPointer('/cases', validateCasesConfig(config.cases)));
  if (issues.length > 0) throw new CloudConfigError(issues, file);
  return config;
}
