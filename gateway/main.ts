/**
 * Composition root of the gateway: `node --import tsx gateway/main.ts --config gateway.json`
 * (`npm run gateway`, which starts this file in node itself, with no wrapper process in between,
 * so the pid in the start log line is the one to signal).
 *
 * It loads the device profiles and the configuration (refusing to start, with every problem
 * printed, if either is invalid), opens the store, starts the gateway, and stops it cleanly on
 * SIGINT / SIGTERM so the last readings are flushed and the databases closed; a repeat of the
 * signal within 2 s is the same request (runtime/signals.ts), a later one forces exit 1.
 * SIGHUP re-reads the configuration file: changed alarm, device (poll interval, name, location)
 * and lighting settings become local overrides, applied at once and reported upstream; other
 * changes need a restart (docs/config-downlink.md).
 *
 * Exit codes:
 *   0  stopped on request
 *   1  unexpected failure (a bug, or stop did not finish in time or was forced by a late repeat)
 *   2  invalid command line, device profiles or configuration (every problem is on stderr)
 *   3  the store refused to open (misconfigured, corrupt or too new a database)
 *   4  stopped, but decisions could not be stored (the disk stayed full); the log says which
 */
import { Command } from 'commander';
import type { Logger } from 'pino';
import { formatConfigIssue, ConfigError } from './config/errors.js';
import {
  loadGatewayConfigWithSource,
  readGatewayConfigDocument,
  type GatewayConfigSource,
} from './config/load.js';
import type { GatewayConfig } from './config/types.js';
import { Gateway } from './gateway.js';
import { createGatewayRegistry } from './metrics/metrics.js';
import { buildMetricsApp } from './metrics/server.js';
import { createLogger } from './logger.js';
import { formatIssue } from '../cloud-sync/contract/errors.js';
import { defaultProfileDirectory, loadProfileDirectory } from './profiles/loader.js';
import type { LoadedProfile } from './profiles/types.js';
import { isStoreError } from './store/errors.js';
import { loadUplinkCredentials, uplinkConnection } from './enrollment/credentials.js';
import { requireSecureMqttUrl } from './enrollment/transport-policy.js';
import type { UplinkOptions } from './uplink/uplink.js';
import { GATEWAY_VERSION } from './version.js';
import { startCabinetWeb } from './web/cabinet-web.js';
import { parseArguments } from '../runtime/arguments.js';
import { exitWith, runUntilStopped } from '../runtime/signals.js';

const EXIT = { ok: 0, failure: 1, invalid: 2, store: 3, notStored: 4 } as const;

/** How long a clean stop may take before the process gives up and exits 1. */
const STOP_TIMEOUT_MS = 15_000;

interface CliOptions {
  config: string;
  profiles: string;
  check: boolean;
}

function parseArgs(argv: string[]): CliOptions {
  const program = new Command()
    .name('kerbside-gateway')
    .description('Kerbside cabinet gateway: polls the field buses and stores what it reads.')
    .requiredOption(
      '-c, --config <path>',
      'gateway configuration file (JSON, see gateway/config/schema.json)',
    )
    .option('-p, --profiles <dir>', 'device profile folder', defaultProfileDirectory())
    .option('--check', 'validate profiles and configuration, then exit', false)
    .addHelpText(
      'after',
      '\nExit codes: 0 stopped on request, 1 unexpected failure, 2 invalid arguments, profiles or\n' +
        'configuration (every problem is printed), 3 the database could not be trusted.',
    )
    .exitOverride();
  program.parse(argv);
  return program.opts<CliOptions>();
}

/** Every profile issue on stderr; returns the profiles only if there were none. */
function loadProfiles(dir: string): Map<string, LoadedProfile> | null {
  const { profiles, issues } = loadProfileDirectory(dir);
  if (issues.length === 0) return profiles;
  process.stderr.write(
    `device profiles in ${dir} have ${issues.length} issue${issues.length === 1 ? '' : 's'}:\n`,
  );
  for (const issue of issues) process.stderr.write(`  ${formatIssue(issue)}\n`);
  return null;
}

/** The configuration, or null after printing every issue on stderr. */
function loadConfig(
  path: string,
  profiles: ReadonlyMap<string, LoadedProfile>,
): { config: GatewayConfig; source: GatewayConfigSource } | null {
  try {
    return loadGatewayConfigWithSource(path, profiles);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const count = error.issues.length;
    process.stderr.write(
      `invalid gateway configuration ${path} (${count} issue${count === 1 ? '' : 's'}):\n`,
    );
    for (const issue of error.issues) process.stderr.write(`  ${formatConfigIssue(issue, path)}\n`);
    return null;
  }
}

async function run(argv: string[]): Promise<number> {
  // A number: commander has printed the help text or the problem; end with that code.
  const options = parseArguments(() => parseArgs(argv), EXIT);
  if (typeof options === 'number') return options;

  const profiles = loadProfiles(options.profiles);
  if (profiles === null) return EXIT.invalid;
  const loaded = loadConfig(options.config, profiles);
  if (loaded === null) return EXIT.invalid;
  // The file as written is the base cloud configuration documents and local overrides are laid on.
  const { config, source: configSource } = loaded;
  if (options.check) {
    process.stdout.write(
      `configuration ${options.config} is valid: ${config.buses.length} buses, ${config.devices.length} devices\n`,
    );
    return EXIT.ok;
  }

  const logger = createLogger({ level: config.log.level });
  const uplink = await uplinkOptions(config, logger);
  const gateway = new Gateway(config, profiles, logger, {
    configSource,
    ...(uplink === undefined ? {} : { uplink }),
  });
  try {
    await gateway.start();
  } catch (error) {
    logger.fatal({ err: error }, 'gateway failed to start');
    if (isStoreError(error)) {
      process.stderr.write(`cannot start: ${error.message}\n`);
      return EXIT.store;
    }
    return EXIT.failure;
  }
  const metrics = config.metrics.enabled ? buildMetricsApp(createGatewayRegistry(gateway)) : null;
  if (metrics) {
    // Metrics are optional: a port that cannot be bound is logged, the gateway runs on.
    metrics.listen({ host: config.metrics.host, port: config.metrics.port }).then(
      (address) => logger.info({ address: `${address}/metrics` }, 'metrics endpoint listening'),
      (error: unknown) =>
        logger.error({ err: error }, 'metrics endpoint could not listen; the gateway runs without it'),
    );
  }
  // The technician's web UI (docs/ui.md): optional, so a failure is logged and polling goes on.
  // Not awaited: a first start makes its certificate (about a second), and the stop signals must
  // be handled from here on, not after it (a SIGTERM meanwhile would kill the process unstopped).
  const web = startCabinetWeb(gateway, config, logger);
  logger.info(
    { gatewayId: config.gatewayId, site: config.site.name, dataDir: config.dataDir, profiles: profiles.size },
    // The pid in the text too (pino also adds a pid field): it is what `kill -HUP` needs (README).
    `gateway ${config.gatewayId} running (pid ${process.pid}, ${config.buses.length} buses, ${config.devices.length} devices)`,
  );
  if (config.devices.length === 0) logger.warn('no devices configured: nothing will be polled');
  else if (!config.uplink.enabled) {
    // uplink.enabled defaults to false; an installer who enrolled but missed it would otherwise
    // see a healthy gateway that never sends anything.
    logger.warn(
      { uplinkEnabled: false, devices: config.devices.length },
      'uplink.enabled is false: nothing is sent to the cloud (events wait in the outbox); ' +
        'after enrolling (npm run enroll) set "uplink": { "enabled": true } and restart',
    );
  }
  const code = await waitForStop(gateway, logger, options.config, async () => (await web)?.close());
  await metrics?.close();
  return code;
}

/**
 * The uplink's connection from the enrolled credential in dataDir. A gateway that was never
 * enrolled (or whose credential file is broken) still runs: it polls, alarms and switches lamps
 * locally, keeps everything in its outbox, and says loudly why nothing goes upstream.
 */
async function uplinkOptions(config: GatewayConfig, logger: Logger): Promise<UplinkOptions | undefined> {
  if (!config.uplink.enabled) return undefined;
  try {
    const credentials = await loadUplinkCredentials(config.dataDir);
    if (credentials.gatewayId !== config.gatewayId) {
      throw new Error(
        `the enrolled credential is for gateway ${credentials.gatewayId}, this configuration is ${config.gatewayId}`,
      );
    }
    const u = config.uplink;
    // Refused here too, so the gateway runs without an uplink and says why (transport-policy.ts).
    requireSecureMqttUrl(credentials.mqtt.url, u.allowInsecureMqtt);
    if (credentials.downlinkKeys.length === 0) {
      logger.warn(
        { code: 'DOWNLINK_KEY_NOT_PINNED' },
        'this gateway was enrolled before signed downlink and has no pinned cloud key: every command and ' +
          'configuration document will be refused until it is enrolled again (npm run enroll; docs/downlink-signing.md)',
      );
    }
    return {
      ...uplinkConnection(credentials),
      allowInsecureMqtt: u.allowInsecureMqtt,
      version: GATEWAY_VERSION,
      batchSize: u.batchSize,
      maxInFlightBatches: u.maxInFlightBatches,
      telemetryEventsPerS: u.telemetryEventsPerS,
      ackTimeoutMs: u.ackTimeoutS * 1000,
      statusIntervalMs: u.statusIntervalS * 1000,
    };
  } catch (error) {
    logger.error(
      { err: { message: error instanceof Error ? error.message : String(error) } },
      'uplink disabled: no usable credential (events stay in the outbox until it is fixed)',
    );
    return undefined;
  }
}

/** Resolves with the exit code once a signal (or an unexpected error) has stopped the gateway. */
function waitForStop(
  gateway: Gateway,
  logger: Logger,
  configPath: string,
  beforeStop: () => Promise<void> | undefined,
): Promise<number> {
  /** SIGHUP: the file read again; what changed in the overlay areas becomes local overrides. */
  const reload = (): void => {
    try {
      const { document } = readGatewayConfigDocument(configPath);
      const summary = gateway.reloadConfigFile(document);
      logger.info(summary, 'configuration file re-read (SIGHUP)');
    } catch (error) {
      logger.error({ err: error }, 'configuration file re-read failed (SIGHUP); nothing changed');
    }
  };
  process.on('SIGHUP', () => reload());
  return runUntilStopped({
    logger,
    timeoutMs: STOP_TIMEOUT_MS,
    // Decisions that could not be stored (the disk stayed full): the stop did not succeed.
    stop: async () => {
      // The web UI first: its live streams end and no request reaches a stopping gateway.
      await beforeStop()?.catch((error: unknown) =>
        logger.error({ err: error }, 'web UI did not stop cleanly'),
      );
      return (await gateway.stop()).stored ? EXIT.ok : EXIT.notStored;
    },
  });
}

exitWith(run(process.argv));
