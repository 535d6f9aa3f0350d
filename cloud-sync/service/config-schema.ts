/**
 * JSON Schema (draft-07) of the cloud-sync service configuration file. Every field is optional:
 * the defaults (config.ts) run the embedded single-process deployment on loopback, so
 * `npm run cloud` works with no file at all. Objects are closed so a typo fails loudly.
 */
import { GATEWAY_ID_PATTERN } from '../contract/topics.js';
import { CASES_CONFIG_SCHEMA } from './cases/config.js';

const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const path = { type: 'string', minLength: 1, maxLength: 4096 } as const;
const host = { type: 'string', minLength: 1, maxLength: 255 } as const;

function closed(properties: Record<string, unknown>, required: string[] = []): Record<string, unknown> {
  return { type: 'object', properties, required, additionalProperties: false };
}

export const INSTANCE_ID_PATTERN = '^[A-Za-z0-9-]{1,23}$';
export const SHARE_GROUP_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const CLOUD_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'kerbside cloud-sync service configuration',
  ...closed({
    database: closed({
      /** The embedded SQLite file (one process). */
      sqlitePath: path,
      /** PostgreSQL for several instances (DATABASE_URL overrides it). */
      url: { type: 'string', minLength: 1, maxLength: 4096, pattern: '^postgres(ql)?://' },
    }),
    mqtt: closed({
      /** An external broker (MQTT_URL overrides it); absent: the embedded aedes broker. */
      url: { type: 'string', minLength: 1, maxLength: 4096, pattern: '^mqtts?://' },
      /** CA certificate(s) to trust for an mqtts:// broker (PEM file). */
      caFile: path,
      /** Service account name of the consumer (username `service.{name}`). */
      serviceAccount: { type: 'string', pattern: GATEWAY_ID_PATTERN },
      /** File holding the service account's secret on an external broker (or MQTT_SERVICE_SECRET). */
      secretFile: path,
      /** Client id suffix `svc-{account}-{instanceId}`; random per start when absent. */
      instanceId: { type: 'string', pattern: INSTANCE_ID_PATTERN },
      /** Share group of the `up/events` subscription on an external broker. */
      shareGroup: { type: 'string', pattern: SHARE_GROUP_PATTERN },
      /**
       * Key file of the keyed MQTT credential hashes (CREDENTIAL_KEY_FILE overrides it), created 0600
       * at first start; default credential.key next to the SQLite file, with PostgreSQL next to this
       * configuration file. Instances sharing one PostgreSQL database need the same file.
       */
      credentialKeyFile: path,
      embedded: closed({
        host,
        port,
        tls: closed({ port, keyFile: path, certFile: path }, ['keyFile', 'certFile']),
        /**
         * Connections from one source address (default 100, broker/connection-limits.ts); raise it
         * when more cabinets than that reach the cloud through one NAT address.
         */
        maxConnectionsPerAddress: { type: 'integer', minimum: 1, maximum: 100_000 },
        /**
         * Refused CONNECTs from one address within a minute before it is throttled (default 20,
         * broker/refusals.ts); raise it when many cabinets share one NAT address.
         */
        refusalsBeforeThrottle: { type: 'integer', minimum: 1, maximum: 100_000 },
      }),
    }),
    http: closed({
      host,
      port,
      tls: closed({ keyFile: path, certFile: path }, ['keyFile', 'certFile']),
      /**
       * Behind a reverse proxy: believe its X-Forwarded-For/-Proto/-Host (fastify trustProxy): the
       * number of proxy hops, or the proxies' addresses and CIDR ranges. `true` passes the schema
       * only to be refused with a clear message (config.ts): it would trust the client's own entry.
       */
      trustProxy: {
        anyOf: [
          { type: 'boolean' },
          { type: 'integer', minimum: 1, maximum: 16 },
          {
            type: 'array',
            minItems: 1,
            maxItems: 64,
            items: { type: 'string', minLength: 1, maxLength: 64 },
          },
        ],
      },
      /** Development only, plain HTTP on loopback: the session cookie without Secure (and __Host-). */
      insecureCookies: { type: 'boolean' },
      /** File holding the token GET /metrics and the OpenAPI document need (or KERBSIDE_SCRAPE_TOKEN). */
      scrapeTokenFile: path,
    }),
    /** What enrollment hands to gateways (cloud-sync/service/enrollment, docs/enrollment.md). */
    enrollment: closed({
      /** The broker URL gateways connect to; default: the embedded broker's (TLS when configured). */
      gatewayMqttUrl: { type: 'string', minLength: 1, maxLength: 4096, pattern: '^mqtts?://' },
      /** PEM CA bundle gateways verify the broker with, sent to them at enrollment. */
      caFile: path,
    }),
    /** Signed downlink (docs/downlink-signing.md). */
    downlink: closed({
      /** The Ed25519 key file (0600); default: in the credential key's folder (mqtt.credentialKeyFile). */
      signingKeyFile: path,
    }),
    ingest: closed({
      concurrency: { type: 'integer', minimum: 1, maximum: 256 },
      maxPending: { type: 'integer', minimum: 1, maximum: 100_000 },
    }),
    log: closed({ level: { enum: [...LOG_LEVELS] } }),
    /** The case service (cases/config.ts, docs/cases.md): classes, categories, filing rules, calendar. */
    cases: CASES_CONFIG_SCHEMA,
  }),
} as const;
