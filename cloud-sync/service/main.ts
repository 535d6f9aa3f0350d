/**
 * The cloud-sync service process: `npm run cloud [-- --config cloud.json]`.
 *
 * Loads the configuration (defaults: SQLite at ./data/cloud.sqlite, embedded broker on
 * 127.0.0.1:1883, HTTP on 127.0.0.1:8080), starts the service (service.ts) and stops it cleanly
 * on SIGINT / SIGTERM; a repeat of the signal within 2 s is the same request, a later one forces
 * exit 1 (runtime/signals.ts). `npm run cloud` starts this file in node itself (no wrapper
 * process), so the `pid` of the "cloud service running" line is the one to signal. Logs are JSON
 * lines on stdout (pino); secrets are redacted by field name.
 *
 * Exit codes:
 *   0  stopped on request
 *   1  runtime failure (cannot start, e.g. a port in use; a bug; stop did not finish in time or
 *      was forced by a late repeat of the signal)
 *   2  invalid command line or configuration (every problem is on stderr, with its JSON pointer)
 *   3  the database server cannot be reached (CLOUD_DB_UNAVAILABLE): not a configuration error;
 *      start again once it is up (a supervisor's restart does)
 */
import { Command } from 'commander';
import { pino, type Logger } from 'pino';
import { formatIssue } from '../contract/errors.js';
import { CloudConfigError, loadCloudConfig, type CloudServiceConfig } from './config.js';
import { CloudServiceError } from './errors.js';
import { startCloudService, type CloudService } from './service.js';
import { productionDeps } from './wiring.js';
import { parseArguments } from '../../runtime/arguments.js';
import { exitWith, runUntilStopped } from '../../runtime/signals.js';
import { REDACT_PATHS, REDACTED } from '../../runtime/log-redaction.js';

const EXIT = { ok: 0, failure: 1, invalid: 2, unavailable: 3 } as const;
const STOP_TIMEOUT_MS = 15_000;

interface CliOptions {
  config?: string;
  check: boolean;
}

function parseArgs(argv: string[]): CliOptions {
  const program = new Command()
    .name('kerbside-cloud')
    .description('Kerbside cloud-sync service: broker, ingest and acks, status, metrics.')
    .option('-c, --config <path>', 'configuration file (JSON); defaults apply without one')
    .option('--check', 'validate the configuration, then exit', false)
    .addHelpText(
      'after',
      '\nEnvironment: DATABASE_URL, MQTT_URL, MQTT_SERVICE_SECRET and LOG_LEVEL override the file.\n' +
        'Exit codes: 0 stopped on request, 1 runtime failure, 2 invalid arguments or configuration.',
    )
    .exitOverride();
  program.parse(argv);
  return program.opts<CliOptions>();
}

function loadConfig(file: string | undefined): CloudServiceConfig | null {
  try {
    return loadCloudConfig({ file: file ?? null });
  } catch (error) {
    if (!(error instanceof CloudConfigError)) throw error;
    const where = error.file === null ? '' : ` ${error.file}`;
    const count = error.issues.length;
    process.stderr.write(
      `invalid cloud service configuration${where} (${count} issue${count === 1 ? '' : 's'}):\n`,
    );
    for (const issue of error.issues) process.stderr.write(`  ${formatIssue(issue)}\n`);
    return null;
  }
}

async function run(argv: string[]): Promise<number> {
  // A number: commander has printed the help text or the problem; end with that code.
  const options = parseArguments(() => parseArgs(argv), EXIT);
  if (typeof options === 'number') return options;
  const config = loadConfig(options.config);
  if (config === null) return EXIT.invalid;
  if (options.check) {
    process.stdout.write(`configuration ${options.config ?? '(defaults)'} is valid\n`);
    return EXIT.ok;
  }

  const logger = pino({ level: config.log.level, redact: { paths: [...REDACT_PATHS], censor: REDACTED } });
  let service: CloudService;
  try {
    service = await startCloudService(config, productionDeps(logger));
  } catch (error) {
    if (error instanceof CloudServiceError && error.code === 'CLOUD_DB_UNAVAILABLE') {
      // Not a configuration problem: the server is down or unreachable; a supervisor restarts us.
      process.stderr.write(`cannot start: ${error.message}\n`);
      return EXIT.unavailable;
    }
    if (error instanceof CloudServiceError && error.code !== 'CLOUD_DB_MIGRATION') {
      // The database settings ask for something this build cannot do: a configuration problem.
      process.stderr.write(`invalid cloud service configuration: ${error.message}\n`);
      return EXIT.invalid;
    }
    logger.fatal({ err: error }, 'cloud service failed to start');
    process.stderr.write(`cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
  // pino's base fields give this line (like every line) the `pid` field README tells operators to
  // signal; keep them when changing the logger options.
  logger.info(
    {
      httpPort: service.httpPort,
      mqttPort: service.mqttPort,
      mqttTlsPort: service.mqttTlsPort,
      mqttUrl: service.mqttUrl,
      database: config.database.sqlitePath ?? 'postgresql',
    },
    'cloud service running',
  );
  return waitForStop(service, logger);
}

/** Resolves with the exit code once a signal (or an unexpected error) has stopped the service. */
function waitForStop(service: CloudService, logger: Logger): Promise<number> {
  return runUntilStopped({
    logger,
    timeoutMs: STOP_TIMEOUT_MS,
    stop: async () => {
      await service.close();
      logger.info('stopped');
      return EXIT.ok;
    },
  });
}

exitWith(run(process.argv));
