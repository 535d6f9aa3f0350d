/**
 * Composition of the cloud-sync service process (docs/cloud-service.md): database, broker
 * (embedded aedes unless an external one is configured), the ingest consumer and the HTTP endpoint
 * with the whole API (api/build.ts buildApi).
 * `startCloudService` starts them in dependency order and `close()` stops them in reverse, so the
 * consumer finishes (and acks) the batches in process before the database closes.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import {
  generateSecret,
  hashSecret,
  MemoryCredentialStore,
  type CredentialStore,
} from './broker/credentials.js';
import { openCredentialKey } from './enrollment/credential-key.js';
import type { CredentialKey } from './secrets/credential-key.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker/embedded.js';
import type { CloudServiceConfig } from './config.js';
import { IngestConsumer } from './consumer/consumer.js';
import { readFleetSnapshot } from './consumer/status.js';
import { openCloudDatabase } from './db/open.js';
import type { CloudSchema } from './db/schema.js';
import { buildHttpApp, listenerWarnings, listenHttp, type HealthCheck } from './http.js';
import { createCloudMetrics, type CloudMetrics } from './metrics.js';
import { buildApi } from './api/build.js';
import { WorkingCalendar } from './cases/calendar.js';
import { caseFilingHook } from './cases/filing.js';
import { CaseMonitor } from './cases/monitor.js';
import { CommandService } from './downlink/commands.js';
import { ConfigDocumentService } from './downlink/config-documents.js';
import type { DownlinkPublisher } from './downlink/publisher.js';
import { downlinkResultsHook } from './downlink/results-hook.js';
import { downlinkStatusListener, republishAtStart, startCommandExpirySweep } from './downlink/resync.js';
import { loadDownlinkSigner, type DownlinkSigner } from './downlink/signing-key.js';

/** What credential stores get from the running service. */
export interface CloudServiceContext {
  db: Kysely<CloudSchema>;
  logger: Logger;
}

export interface CloudServiceDeps {
  logger: Logger;
  /**
   * Gateway credentials for the embedded broker: a store, or a factory given the opened database
   * (the database-backed enrollment store). Absent: no gateway can connect (logged at start).
   */
  credentials?: CredentialStore | ((context: CloudServiceContext) => CredentialStore);
  /**
   * Serve enrollment, `POST /api/v1/enroll` (the production wiring does): gateways redeem a token
   * for the credential `credentials` checks. Off by default.
   */
  enrollment?: boolean;
  /** Default process metrics; tests running several services in one process may turn them off. */
  processMetrics?: boolean;
  /** How long start waits for the consumer on the embedded broker (ms). */
  startTimeoutMs?: number;
  now?: () => Date;
  /**
   * The key of the stored credential hashes (broker/credentials.ts). Absent: the file
   * `mqtt.credentialKeyFile`, created at the first start and checked against the database.
   */
  credentialKey?: CredentialKey;
}

export interface CloudService {
  db: Kysely<CloudSchema>;
  metrics: CloudMetrics;
  http: FastifyInstance;
  consumer: IngestConsumer;
  /** Plain MQTT port of the embedded broker; null with an external broker. */
  mqttPort: number | null;
  /** TLS port of the embedded broker, when configured. */
  mqttTlsPort: number | null;
  httpPort: number;
  /** The broker the consumer uses (no credentials in it). */
  mqttUrl: string;
  /** Downlink: commands to gateways and their configuration documents (docs/downlink.md). */
  commands: CommandService;
  configs: ConfigDocumentService;
  /** Signs every `down/` message; its public keys are pinned at enrollment (docs/downlink-signing.md). */
  downlinkSigner: DownlinkSigner;
  /** Overdue escalation and sensor verification of cases (docs/cases.md). */
  caseMonitor: CaseMonitor;
  calendar: WorkingCalendar;
  close(): Promise<void>;
}

const DB_CHECK_TIMEOUT_MS = 2000;

/** A URL host for connecting to a listener bound to `host` (a wildcard bind is reached on loopback). */
function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function timeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function checkDatabase(db: Kysely<CloudSchema>): Promise<HealthCheck> {
  try {
    await timeout(sql`select 1`.execute(db), DB_CHECK_TIMEOUT_MS, 'database did not answer in time');
    return { ok: true };
  } catch (error) {
    return { ok: false, error: `database: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The credential key file, opened against the database (a wrong or lost key stops the start). */
async function openServiceCredentialKey(
  db: Kysely<CloudSchema>,
  config: CloudServiceConfig,
  logger: Logger,
): Promise<CredentialKey> {
  const opened = await openCredentialKey(db, config.mqtt.credentialKeyFile);
  // The path and key id only: the key itself is never logged.
  logger.info(
    { credentialKeyFile: config.mqtt.credentialKeyFile, keyId: opened.key.id, created: opened.created },
    'credential key ready',
  );
  if (opened.legacyRows > 0) {
    logger.info(
      { legacyRows: opened.legacyRows },
      'credentials still in the legacy scrypt form: each is rewritten at its next successful CONNECT',
    );
  }
  return opened.key;
}

export async function startCloudService(
  config: CloudServiceConfig,
  deps: CloudServiceDeps,
): Promise<CloudService> {
  const { logger } = deps;
  /** Stops what has started so far, newest first; used by close() and by a failed start. */
  const closers: { name: string; close: () => Promise<void> }[] = [];
  const closeAll = async (): Promise<void> => {
    for (const { name, close } of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        logger.error({ err: error, component: name }, 'error while stopping');
      }
    }
  };

  try {
    if (config.database.sqlitePath !== undefined)
      // Owner-only, like the database file open.ts creates in it (docs/security.md).
      mkdirSync(dirname(config.database.sqlitePath), { recursive: true, mode: 0o700 });
    const db = await openCloudDatabase(
      config.database.sqlitePath !== undefined
        ? { sqlitePath: config.database.sqlitePath }
        : { databaseUrl: config.database.url },
    );
    closers.push({ name: 'database', close: () => db.destroy() });
    const context: CloudServiceContext = { db, logger };
    const credentialKey = deps.credentialKey ?? (await openServiceCredentialKey(db, config, logger));

    const metrics = createCloudMetrics({
      readFleet: () => readFleetSnapshot(db),
      onReadError: (error) =>
        logger.warn({ err: error }, 'metrics: fleet figures unavailable (database error)'),
      ...(deps.processMetrics === undefined ? {} : { processMetrics: deps.processMetrics }),
    });

    let broker: EmbeddedBroker | null = null;
    let mqttUrl: string;
    let secret: string | null;
    if (config.mqtt.url === null) {
      // No default password anywhere (ARCHITECTURE.md, "Composition roots"): the consumer's secret
      // is made here, lives only in this process's memory, and is never logged.
      secret = generateSecret();
      const serviceAccounts = new MemoryCredentialStore();
      serviceAccounts.set(config.mqtt.serviceAccount, {
        hash: hashSecret(secret, credentialKey),
        disabled: false,
      });
      let credentials: CredentialStore;
      if (deps.credentials === undefined) {
        logger.warn('no gateway credential store given: no gateway can connect to the embedded broker');
        credentials = new MemoryCredentialStore();
      } else {
        credentials = typeof deps.credentials === 'function' ? deps.credentials(context) : deps.credentials;
      }
      const embedded = config.mqtt.embedded;
      const started = await startEmbeddedBroker({
        port: embedded.port,
        host: embedded.host,
        credentials,
        serviceAccounts,
        credentialKey,
        logger: logger.child({ component: 'broker' }),
        holdGatewaysUntilReady: true,
        // Operator settings for cabinets behind one NAT address (config-schema.ts).
        limits: {
          ...(embedded.maxConnectionsPerAddress === undefined
            ? {}
            : { maxConnectionsPerAddress: embedded.maxConnectionsPerAddress }),
          ...(embedded.refusalsBeforeThrottle === undefined
            ? {}
            : { refusalsBeforeThrottle: embedded.refusalsBeforeThrottle }),
        },
        ...(embedded.tls === null
          ? {}
          : { tls: { port: embedded.tls.port, key: embedded.tls.key, cert: embedded.tls.cert } }),
      });
      broker = started;
      closers.push({ name: 'broker', close: () => started.close() });
      mqttUrl = `mqtt://${connectHost(embedded.host)}:${started.port}`;
    } else {
      secret = config.mqtt.secret;
      mqttUrl = config.mqtt.url;
      if (secret === null)
        logger.warn('no service secret for the external broker: connecting without a password');
    }

    // The case service (docs/cases.md) and the downlink (docs/uplink-contract.md, delivery rule 7).
    // The downlink publishes through the consumer's MQTT session, which is built below; the
    // forwarding publisher breaks that circle (the consumer's status listener needs the downlink
    // services).
    const calendar = new WorkingCalendar(config.cases.calendar);
    let publishVia: IngestConsumer | null = null;
    const publisher: DownlinkPublisher = {
      publish: (topic, payload, options) =>
        publishVia === null
          ? Promise.reject(new Error('the consumer has not started'))
          : publishVia.publish(topic, payload, options),
    };
    const clock = deps.now === undefined ? {} : { now: deps.now };
    const downlinkLogger = logger.child({ component: 'downlink' });
    const casesLogger = logger.child({ component: 'cases' });
    // Created at the first start (0600), never logged (docs/downlink-signing.md).
    const signer = await loadDownlinkSigner(config.downlink.signingKeyFile, downlinkLogger);
    const commands = new CommandService({ db, publisher, signer, logger: downlinkLogger, ...clock });
    const configs = new ConfigDocumentService({ db, publisher, signer, logger: downlinkLogger, ...clock });

    const consumer = new IngestConsumer({
      url: mqttUrl,
      ...(config.mqtt.ca === null ? {} : { ca: config.mqtt.ca }),
      serviceAccount: config.mqtt.serviceAccount,
      ...(secret === null ? {} : { secret }),
      instanceId: config.mqtt.instanceId,
      // aedes does not implement shared subscriptions (docs/cloud-broker.md): a `$share/` filter
      // would match nothing there, so the embedded broker gets a plain subscription.
      shareGroup: broker === null ? config.mqtt.shareGroup : null,
      db,
      metrics,
      logger: logger.child({ component: 'consumer' }),
      concurrency: config.ingest.concurrency,
      maxPending: config.ingest.maxPending,
      ...(deps.now === undefined ? {} : { now: deps.now }),
      // Inside each batch's transaction: a case is filed, and a command or configuration settled,
      // exactly once with the events that cause it (ingest.ts IngestHook).
      ingestHooks: [
        caseFilingHook({
          config: config.cases,
          calendar,
          logger: casesLogger,
          counters: {
            unfiled: (reason) => metrics.alarmsUnfiled.inc({ reason }),
            held: (reason) => metrics.casesHeld.inc({ reason }),
          },
        }),
        downlinkResultsHook(),
      ],
      onStatusStored: downlinkStatusListener({ commands, configs, logger: downlinkLogger }),
    });
    publishVia = consumer;
    closers.push({ name: 'consumer', close: () => consumer.close() });
    consumer.start();
    if (broker !== null) {
      // In-process broker: failing to reach it is a bug, not an outage to ride out.
      await timeout(
        consumer.whenSubscribed(),
        deps.startTimeoutMs ?? 10_000,
        `consumer could not subscribe on the embedded broker: ${consumer.health().reason ?? 'unknown'}`,
      );
      // Only now may gateways publish: their batches have a listener (docs/cloud-broker.md).
      broker.acceptGateways();
    } else {
      // An external broker may be down at start; the consumer retries and /healthz says 503 meanwhile.
      logger.info({ clientId: consumer.clientId }, 'consumer connecting to the external broker');
    }

    // Retained configuration documents may have been lost with an embedded broker's memory.
    const republish = (): void => {
      republishAtStart({ commands, configs, logger: downlinkLogger }).catch((error: unknown) =>
        downlinkLogger.warn({ err: error }, 'configuration documents not republished at start'),
      );
    };
    if (broker !== null) republish();
    else void consumer.whenSubscribed().then(republish);
    const stopExpirySweep = startCommandExpirySweep(commands, downlinkLogger);
    closers.push({ name: 'command-expiry', close: () => Promise.resolve(stopExpirySweep()) });
    const caseMonitor = new CaseMonitor({
      db,
      config: config.cases,
      calendar,
      logger: casesLogger,
      ...clock,
      // An escalation is a fact an operator must see: logged at warn and counted for alerting.
      onEscalation: (escalation) => {
        metrics.caseEscalations.inc({ kind: escalation.kind, level: String(escalation.level) });
        casesLogger.warn(
          { escalation },
          `case ${escalation.caseNo} overdue: escalated to level ${escalation.level}`,
        );
      },
    });
    caseMonitor.start();
    closers.push({ name: 'case-monitor', close: () => caseMonitor.stop() });

    const app = buildHttpApp({
      registry: metrics.registry,
      logger: logger.child({ component: 'http' }),
      ...(config.http.tls === null ? {} : { https: config.http.tls }),
      trustProxy: config.http.trustProxy,
      scrapeToken: config.http.scrapeToken,
      health: async () => {
        const mqtt = consumer.health();
        return {
          database: await checkDatabase(db),
          mqtt: mqtt.reason === null ? { ok: true } : { ok: false, error: `mqtt: ${mqtt.reason}` },
        };
      },
    });
    closers.push({ name: 'http', close: () => app.close() });
    // What enrollment hands to gateways: the configured URL, else the embedded broker's TLS
    // listener when it has one, else the broker the consumer uses.
    const tlsPort = broker?.tlsPort;
    const gatewayMqttUrl =
      config.enrollment.gatewayMqttUrl ??
      (broker === null || tlsPort === undefined
        ? mqttUrl
        : `mqtts://${connectHost(config.mqtt.embedded.host)}:${tlsPort}`);
    // The whole API, as the route tests assemble it too (api/build.ts).
    await buildApi(app, {
      db,
      ...clock,
      auth: { logger: logger.child({ component: 'auth' }), insecureCookies: config.http.insecureCookies },
      cases: { config: config.cases, calendar, logger: casesLogger },
      downlink: { commands, configs },
      ...(deps.enrollment === true
        ? {
            enrollment: {
              mqttUrl: gatewayMqttUrl,
              caBundle: config.enrollment.caBundle,
              credentialKey,
              downlinkKeys: signer.publicKeys(),
              logger: logger.child({ component: 'enrollment' }),
            },
          }
        : {}),
    });
    // Exposure an operator must know of (issue 12, finding 9): plain HTTP beyond loopback and such.
    for (const warning of listenerWarnings(config.http)) logger.warn({ component: 'http' }, warning);
    const httpPort = await listenHttp(app, config.http.host, config.http.port);

    // Closing runs the closers newest first: http, consumer (finishes and acks the batches in
    // process), broker, database.
    let closing: Promise<void> | null = null;
    return {
      db,
      metrics,
      http: app,
      consumer,
      mqttPort: broker?.port ?? null,
      mqttTlsPort: broker?.tlsPort ?? null,
      httpPort,
      mqttUrl,
      commands,
      configs,
      downlinkSigner: signer,
      caseMonitor,
      calendar,
      close(): Promise<void> {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
