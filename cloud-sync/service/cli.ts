/**
 * Cloud administration: `npm run cloud-admin -- <command>` (docs/enrollment.md).
 *
 *   token create --gateway <id> [--ttl 24h] --by <operator>   prints the token once
 *   gateway list | gateway disable <id> --by <op> | gateway enable <id> --by <op>
 *   service-account create <name> --by <op> [--rotate]       prints the secret once
 *   mosquitto-files --out <dir> [--tls-ca f --tls-cert f --tls-key f] [...]
 *   operator create <username> --role <role...> [--unit u] [--name n] [--password-stdin]
 *                                                            prints a generated password once
 *   operator list | operator disable|enable <username> | operator reset-password <username>
 *                  (operator commands take [--actor <name>], default the OS user; docs/auth.md)
 *   downlink-key list | prepare | activate <keyId> | retire <keyId>   [--file <key file>]
 *                  (the downlink signing key's rotation, docs/downlink-signing.md)
 *
 * The database is `--db <sqlite file>`, or the DATABASE_URL environment variable (PostgreSQL), or
 * else the SQLite file `npm run cloud` uses by default (DEFAULTS.sqlitePath of config.ts, from the
 * working directory; the CLI says on stderr which file that is). A SQLite file that does not exist
 * is refused (exit 2), so a mistyped path cannot quietly start an empty second database; `--create`
 * makes a new one on purpose.
 * Exit codes: 0 done, 1 the action failed (not found, conflict, database error), 2 bad arguments
 * (including a database file that does not exist).
 * Secrets and tokens go to stdout only, once, and never into the audit trail or a log.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Kysely } from 'kysely';
import { formatIssue, KerbsideError, type ErrorCatalogue } from '../contract/errors.js';
import { isGatewayId } from '../contract/topics.js';
import { openCloudDatabase } from './db/open.js';
import type { CloudSchema } from './db/schema.js';
import { createServiceAccount, listGateways, setGatewayDisabled } from './enrollment/accounts.js';
import { openCredentialKey } from './enrollment/credential-key.js';
import { EnrollmentError } from './enrollment/errors.js';
import { mosquittoServiceUsername, writeMosquittoFiles } from './enrollment/mosquitto-files.js';
import { isActorName, issueEnrollmentToken, parseTtl } from './enrollment/tokens.js';
import { SERVICE_USERNAME_PREFIX } from './broker/acl.js';
import { AuthError } from './auth/errors.js';
import { CloudConfigError, DEFAULTS, loadCloudConfig } from './config.js';
import { RegistryError } from './registry/errors.js';
import { importComponents } from './registry/registry.js';
import { createOperator, listOperators, setOperatorPassword, updateOperator } from './auth/operators.js';
import { generatePassword } from './auth/passwords.js';
import { isRole, ROLES } from './auth/roles.js';
import { recordAudit, type AuditEntry } from './enrollment/audit.js';
import { registerDownlinkKeyCommands } from './downlink/key-cli.js';

const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export const CLOUD_ADMIN_ERRORS = {
  CLOUD_ADMIN_USAGE: {
    means: "Bad arguments to `npm run cloud-admin`, found after commander's own parsing (exit code 2).",
  },
} as const satisfies ErrorCatalogue<string>;

type CloudAdminErrorCode = keyof typeof CLOUD_ADMIN_ERRORS;

/** Bad arguments found after commander's own parsing: reported like commander's, exit 2. */
class UsageError extends KerbsideError<CloudAdminErrorCode> {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super(CLOUD_ADMIN_ERRORS, 'CLOUD_ADMIN_USAGE', message);
  }
}

/** A list as JSON (--json) or one line per row of its non-empty columns, or a line saying it is empty. */
function printList<T>(
  io: Io,
  rows: readonly T[],
  options: { json: boolean; empty: string },
  columns: (row: T) => string[],
): void {
  if (options.json) io.out(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) io.out(`${options.empty}\n`);
  else
    for (const row of rows)
      io.out(
        `${columns(row)
          .filter((part) => part !== '')
          .join('  ')}\n`,
      );
}

const isCloudConfigError = (error: unknown): error is CloudConfigError => error instanceof CloudConfigError;

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** All of standard input (for --password-stdin); defaults to the process's stdin. */
  readStdin?: () => Promise<string>;
  /** Where a relative --db and the default database resolve from; defaults to process.cwd(). */
  cwd?: string;
}

/** The program-wide options every database command reads. */
interface GlobalOptions {
  db?: string;
  create: boolean;
  credentialKey?: string;
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Who runs an operator command when --actor is not given: the OS account, made safe for the
 * audit trail (characters outside the actor alphabet become '_').
 */
function osActor(env: NodeJS.ProcessEnv): string {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry (some containers): fall back to the environment.
    name = env.USER ?? env.LOGNAME;
  }
  const cleaned = (name ?? '').replace(/[^\p{L}\p{N}._@:+-]/gu, '_').slice(0, 128);
  return cleaned === '' ? 'unknown' : cleaned;
}

function roleArg(value: string, previous: string[] | undefined): string[] {
  const roles = value.split(',').filter((role) => role !== '');
  for (const role of roles) {
    if (!isRole(role)) throw new InvalidArgumentError(`roles are ${ROLES.join(', ')}`);
  }
  return [...(previous ?? []), ...roles];
}

function gatewayIdArg(value: string): string {
  if (!isGatewayId(value)) {
    throw new InvalidArgumentError(
      'a gateway id is 2 to 63 lower-case letters, digits and hyphens, not starting with a hyphen',
    );
  }
  return value;
}

function actorArg(value: string): string {
  if (!isActorName(value)) {
    throw new InvalidArgumentError('1 to 128 letters, digits or . _ @ : + - (written to the audit trail)');
  }
  return value;
}

function ttlArg(value: string): number {
  try {
    return parseTtl(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

function portArg(value: string): number {
  const port = /^[0-9]{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65_535)) throw new InvalidArgumentError('a TCP port 1..65535');
  return port;
}

/**
 * The SQLite file to open: --db, else the service's default. It must exist unless --create: an
 * admin command that silently created a mistyped file would issue tokens and accounts into a
 * database no service reads.
 */
function sqliteFile(global: GlobalOptions, io: Io): string {
  const cwd = io.cwd ?? process.cwd();
  const path = resolve(cwd, global.db ?? DEFAULTS.sqlitePath);
  if (global.db === undefined) {
    io.err(`database: ${path} (the default of npm run cloud; --db <file> or DATABASE_URL for another)\n`);
  }
  if (existsSync(path)) return path;
  if (!global.create) {
    throw new UsageError(
      `no database at ${path}\n` +
        'hint: check the path: give --db the file the cloud service uses (its "cloud service running" log line ' +
        `names it; the default is ${DEFAULTS.sqlitePath} in the folder npm run cloud starts in), ` +
        'or add --create to start a new, empty database there',
    );
  }
  // Owner-only, like the service's (db/open.ts creates the file 0600).
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  io.err(`creating a new, empty database at ${path}\n`);
  return path;
}

async function withDb<T>(
  global: GlobalOptions,
  io: Io,
  action: (db: Kysely<CloudSchema>, sqlitePath: string | null) => Promise<T>,
): Promise<T> {
  // A blank DATABASE_URL is unset, as for the service (config.ts).
  const rawUrl = io.env.DATABASE_URL?.trim();
  const databaseUrl = rawUrl === '' ? undefined : rawUrl;
  if (global.db !== undefined && databaseUrl !== undefined) {
    throw new UsageError('give either --db or DATABASE_URL, not both');
  }
  if (global.create && databaseUrl !== undefined) {
    throw new UsageError(
      '--create makes a SQLite file; a PostgreSQL database (DATABASE_URL) is made by its administrator',
    );
  }
  const sqlitePath = databaseUrl !== undefined ? null : sqliteFile(global, io);
  const db =
    sqlitePath === null
      ? await openCloudDatabase({ databaseUrl: databaseUrl ?? '' })
      : await openCloudDatabase({ sqlitePath });
  try {
    return await action(db, sqlitePath);
  } finally {
    await db.destroy();
  }
}

/**
 * Sends SIGHUP to the mosquitto whose pid `pidFile` holds (mosquitto.conf(5) pid_file; its
 * systemd unit writes /run/mosquitto/mosquitto.pid). mosquitto 2.0 then reloads its password and
 * ACL files and disconnects connected clients that they no longer allow (a disabled gateway's live
 * session ends here). Returns the pid.
 */
function reloadMosquitto(pidFile: string): number {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the mosquitto pid file ${pidFile}: ${(error as Error).message}`);
  }
  const pid = /^\s*([1-9][0-9]{0,9})\s*$/.exec(text)?.[1];
  if (pid === undefined) throw new UsageError(`${pidFile} does not hold a process id`);
  // Signal delivery errors (no such process, not permitted) are the action failing: exit 1.
  process.kill(Number(pid), 'SIGHUP');
  return Number(pid);
}

/**
 * The credential key file the service uses (secrets/credential-key.ts): --credential-key, else
 * CREDENTIAL_KEY_FILE, else the service's default beside the SQLite file. With PostgreSQL the
 * default lives beside the service's configuration file, which the CLI does not read: name it.
 */
function credentialKeyFile(global: GlobalOptions, io: Io, sqlitePath: string | null): string {
  const cwd = io.cwd ?? process.cwd();
  const given = global.credentialKey ?? io.env.CREDENTIAL_KEY_FILE?.trim();
  if (given !== undefined && given !== '') return resolve(cwd, given);
  if (sqlitePath === null) {
    throw new UsageError(
      'with DATABASE_URL, give --credential-key <file> (or CREDENTIAL_KEY_FILE): the mqtt.credentialKeyFile of the service',
    );
  }
  return join(dirname(sqlitePath), DEFAULTS.credentialKeyFileName);
}

function buildProgram(io: Io): Command {
  const program = new Command()
    .name('cloud-admin')
    .description(
      'Kerbside cloud administration: enrollment tokens, gateways, service accounts, broker files, operators.',
    )
    .option(
      '--db <file>',
      `SQLite database file (else DATABASE_URL, else ${DEFAULTS.sqlitePath} like npm run cloud); must exist`,
    )
    .option('--create', 'create the SQLite database file if it does not exist', false)
    .option(
      '--credential-key <file>',
      'credential key file of the service (else CREDENTIAL_KEY_FILE, else credential.key beside the SQLite file)',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 the action failed, 2 invalid arguments (also: no database at the path).',
    )
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  const global = (): GlobalOptions => program.opts<GlobalOptions>();

  const token = program.command('token').description('one-time enrollment tokens');
  token
    .command('create')
    .description('issue a token that enrolls one gateway; the token is printed once, only its hash is kept')
    .requiredOption('--gateway <id>', 'gateway id the token enrolls', gatewayIdArg)
    .requiredOption('--by <operator>', 'who issues it (audit trail)', actorArg)
    .option('--ttl <duration>', 'lifetime: 1m .. 30d, e.g. 30m, 24h, 7d', ttlArg)
    .action(async (opts: { gateway: string; by: string; ttl?: number }) => {
      const issued = await withDb(global(), io, (db) =>
        issueEnrollmentToken(db, {
          gatewayId: opts.gateway,
          createdBy: opts.by,
          ...(opts.ttl === undefined ? {} : { ttlMs: opts.ttl }),
        }),
      );
      io.err(`enrollment token for ${issued.gatewayId}, valid until ${issued.expiresAt}, usable once:\n`);
      io.out(`${issued.token}\n`);
      io.err('It is shown only now; hand it to the installer over a trusted channel.\n');
    });

  const gateway = program.command('gateway').description('enrolled gateways');
  gateway
    .command('list')
    .description('list enrolled gateways')
    .option('--json', 'machine-readable output', false)
    .action(async (opts: { json: boolean }) => {
      const rows = await withDb(global(), io, (db) => listGateways(db));
      printList(io, rows, { json: opts.json, empty: 'no gateways enrolled' }, (row) => [
        row.gatewayId.padEnd(24),
        (row.disabled ? 'disabled' : 'enabled').padEnd(9),
        `enrolled ${row.enrolledAt}`,
        row.rotatedAt === null ? '' : `rotated ${row.rotatedAt}`,
        row.pendingTokens > 0 ? `${row.pendingTokens} pending token(s)` : '',
      ]);
    });
  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    gateway
      .command(`${name} <id>`)
      .description(
        disabled
          ? 'refuse the gateway at its next connection and revoke its unused tokens'
          : 'allow a disabled gateway again',
      )
      .requiredOption('--by <operator>', 'who does it (audit trail)', actorArg)
      .action(async (id: string, opts: { by: string }) => {
        gatewayIdArg(id);
        await withDb(global(), io, (db) => setGatewayDisabled(db, { gatewayId: id, disabled, by: opts.by }));
        io.out(`gateway ${id} ${disabled ? 'disabled' : 'enabled'}\n`);
        io.err(
          'External broker: regenerate the mosquitto files and reload it ' +
            '(mosquitto-files --out <dir> --reload-pid-file <mosquitto pid file>).\n',
        );
      });
  }

  const service = program.command('service-account').description("the cloud's own MQTT accounts");
  service
    .command('create <name>')
    .description('create a service account (or --rotate its secret); the secret is printed once')
    .requiredOption('--by <operator>', 'who does it (audit trail)', actorArg)
    .option('--rotate', 'give an existing account a new secret', false)
    .action(async (name: string, opts: { by: string; rotate: boolean }) => {
      try {
        gatewayIdArg(name);
      } catch (error) {
        throw new UsageError(
          `invalid service account name ${JSON.stringify(name)}: ${(error as Error).message}`,
        );
      }
      const created = await withDb(global(), io, async (db, sqlitePath) => {
        // Checked against the database like at the service's start: a wrong key file is named.
        const { key } = await openCredentialKey(db, credentialKeyFile(global(), io, sqlitePath));
        return createServiceAccount(db, { name, by: opts.by, rotate: opts.rotate, credentialKey: key });
      });
      io.err(
        `service account ${created.name}: username ${SERVICE_USERNAME_PREFIX}${created.name} on the embedded ` +
          `broker, ${mosquittoServiceUsername(created.name)} on mosquitto; client id svc-${created.name}[-instance].\n` +
          'Secret (shown only now):\n',
      );
      io.out(`${created.secret}\n`);
    });

  program
    .command('components')
    .description('the component registry (docs/component-registry.md)')
    .command('import <file>')
    .description(
      'register or update components from a JSON array; every record is checked first, then all are written at once',
    )
    .requiredOption('--by <operator>', 'who does it (audit trail)', actorArg)
    .option(
      '--config <file>',
      "the service's configuration file (its cases section holds the class code table)",
    )
    .action(async (file: string, opts: { by: string; config?: string }) => {
      const cases = loadCloudConfig({ file: opts.config ?? null, env: {} }).cases;
      let records: unknown;
      try {
        records = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
      }
      if (!Array.isArray(records)) throw new UsageError(`${file} must hold a JSON array of components`);
      const result = await withDb(global(), io, (db) => importComponents(db, cases, records, opts.by));
      io.out(`imported ${result.imported} components (${result.created} new, ${result.updated} updated)\n`);
    });

  program
    .command('mosquitto-files')
    .description(
      'write mosquitto.conf with a password file and an ACL per listener (gateways, service accounts) for an external mosquitto 2.0 broker',
    )
    .requiredOption('--out <dir>', 'directory to write into')
    .option('--install-dir <dir>', 'where the files will live on the broker host (default: --out)')
    .option('--tls-ca <file>', 'CA file for the TLS gateway listener (path on the broker host)')
    .option('--tls-cert <file>', 'server certificate file')
    .option('--tls-key <file>', 'server private key file')
    .option('--gateway-port <port>', 'gateway listener port (default 8883 with TLS, else 1883)', portArg)
    .option('--gateway-bind <address>', 'gateway listener bind address (default: all)')
    .option('--service-port <port>', 'service listener port (default 1884)', portArg)
    .option('--service-bind <address>', 'service listener bind address (default 127.0.0.1)')
    .option('--persistence-dir <dir>', 'mosquitto persistence directory (default <install-dir>/data)')
    .addOption(new Option('--no-persistence', 'turn persistence off'))
    .option('--run-as <user>', 'user mosquitto drops to when started as root')
    .option(
      '--reload-pid-file <file>',
      'after writing, send SIGHUP to the mosquitto whose pid the file holds (it rereads the files and disconnects clients it no longer knows)',
    )
    .action(
      async (opts: {
        out: string;
        installDir?: string;
        tlsCa?: string;
        tlsCert?: string;
        tlsKey?: string;
        gatewayPort?: number;
        gatewayBind?: string;
        servicePort?: number;
        serviceBind?: string;
        persistenceDir?: string;
        persistence: boolean;
        runAs?: string;
        reloadPidFile?: string;
      }) => {
        const tlsParts = [opts.tlsCa, opts.tlsCert, opts.tlsKey];
        const tlsGiven = tlsParts.filter((part) => part !== undefined).length;
        if (tlsGiven !== 0 && tlsGiven !== 3) {
          throw new UsageError('TLS needs all three of --tls-ca, --tls-cert and --tls-key');
        }
        if (!opts.persistence && opts.persistenceDir !== undefined) {
          throw new UsageError('--persistence-dir and --no-persistence contradict each other');
        }
        const written = await withDb(global(), io, (db) =>
          writeMosquittoFiles(db, opts.out, {
            ...(opts.installDir === undefined ? {} : { installDir: opts.installDir }),
            ...(tlsGiven === 3
              ? {
                  tls: { cafile: opts.tlsCa ?? '', certfile: opts.tlsCert ?? '', keyfile: opts.tlsKey ?? '' },
                }
              : {}),
            gatewayListener: { port: opts.gatewayPort, bindAddress: opts.gatewayBind },
            serviceListener: { port: opts.servicePort, bindAddress: opts.serviceBind },
            ...(opts.persistence ? { persistenceDir: opts.persistenceDir } : { persistenceDir: null }),
            ...(opts.runAs === undefined ? {} : { runAsUser: opts.runAs }),
          }),
        );
        io.out(
          `wrote ${written.gatewayPasswordFile} (${written.gateways} gateways), ` +
            `${written.servicePasswordFile} (${written.services} service accounts), ` +
            `${written.gatewayAclFile}, ${written.serviceAclFile} and ${written.confFile}\n`,
        );
        if (opts.reloadPidFile !== undefined) {
          const pid = reloadMosquitto(opts.reloadPidFile);
          io.out(`reloaded mosquitto (pid ${pid})\n`);
        }
        if (tlsGiven === 0) {
          io.err(
            'warning: no TLS: gateway secrets would cross the network in clear; use --tls-* in production.\n',
          );
        }
      },
    );

  const operator = program
    .command('operator')
    .description('operator accounts of the API and console (docs/auth.md); every command is audited');
  const actorOf = (opts: { actor?: string }): string => opts.actor ?? osActor(io.env);

  /** Runs `action` and writes its audit row (source cli): outcome ok, or failed with the error code. */
  async function audited<T>(
    db: Kysely<CloudSchema>,
    entry: Omit<AuditEntry, 'outcome' | 'source'>,
    action: () => Promise<T>,
  ): Promise<T> {
    try {
      const result = await action();
      await recordAudit(db, { ...entry, outcome: 'ok', source: 'cli' }, new Date());
      return result;
    } catch (error) {
      const code = error instanceof AuthError ? error.code : 'ERROR';
      await recordAudit(
        db,
        { ...entry, detail: { ...entry.detail, error: code }, outcome: 'failed', source: 'cli' },
        new Date(),
      );
      throw error;
    }
  }

  operator
    .command('create <username>')
    .description('create an operator; prints a generated password once (or reads one: --password-stdin)')
    .requiredOption('--role <role...>', `one or more of ${ROLES.join(', ')}`, roleArg)
    .option('--unit <unit>', 'owner unit (required with the owner_unit role)')
    .option('--name <display>', 'display name (default: the username)')
    .option('--password-stdin', 'read the password from the first line of standard input', false)
    .option('--actor <name>', 'who does it (audit trail; default: the OS user)', actorArg)
    .action(
      async (
        username: string,
        opts: { role: string[]; unit?: string; name?: string; passwordStdin: boolean; actor?: string },
      ) => {
        let password: string;
        if (opts.passwordStdin) {
          const text = await (io.readStdin ?? readProcessStdin)();
          password = text.split(/\r?\n/)[0] ?? '';
        } else {
          password = generatePassword();
        }
        const created = await withDb(global(), io, (db) =>
          audited(
            db,
            {
              actor: actorOf(opts),
              action: 'operator.create',
              target: username,
              detail: { roles: opts.role, unit: opts.unit ?? null, passwordGenerated: !opts.passwordStdin },
            },
            () =>
              createOperator(
                db,
                {
                  username,
                  roles: opts.role,
                  unit: opts.unit ?? null,
                  password,
                  ...(opts.name === undefined ? {} : { displayName: opts.name }),
                },
                new Date(),
              ),
          ),
        );
        const unit = created.unit === null ? '' : ` of ${created.unit}`;
        if (opts.passwordStdin) {
          io.out(`operator ${created.username} created (${created.roles.join(', ')}${unit})\n`);
          return;
        }
        io.err(
          `operator ${created.username} created (${created.roles.join(', ')}${unit}). Password (shown only now):\n`,
        );
        io.out(`${password}\n`);
      },
    );

  operator
    .command('list')
    .description('list operators')
    .option('--json', 'machine-readable output', false)
    .option('--actor <name>', 'who asks (audit trail; default: the OS user)', actorArg)
    .action(async (opts: { json: boolean; actor?: string }) => {
      const rows = await withDb(global(), io, (db) =>
        audited(db, { actor: actorOf(opts), action: 'operator.list', target: '' }, () => listOperators(db)),
      );
      printList(io, rows, { json: opts.json, empty: 'no operators' }, (row) => [
        row.username.padEnd(24),
        (row.disabled ? 'disabled' : 'enabled').padEnd(9),
        row.roles.join(','),
        row.unit === null ? '' : `unit ${row.unit}`,
        row.displayName === row.username ? '' : `"${row.displayName}"`,
      ]);
    });

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    operator
      .command(`${name} <username>`)
      .description(
        disabled ? 'refuse sign-in and end every session of the operator' : 'allow a disabled operator again',
      )
      .option('--actor <name>', 'who does it (audit trail; default: the OS user)', actorArg)
      .action(async (username: string, opts: { actor?: string }) => {
        await withDb(global(), io, (db) =>
          audited(db, { actor: actorOf(opts), action: `operator.${name}`, target: username }, () =>
            updateOperator(db, username, { disabled }, new Date()),
          ),
        );
        io.out(`operator ${username} ${disabled ? 'disabled' : 'enabled'}\n`);
      });
  }

  operator
    .command('reset-password <username>')
    .description('give the operator a generated password (printed once) and end its sessions')
    .option('--actor <name>', 'who does it (audit trail; default: the OS user)', actorArg)
    .action(async (username: string, opts: { actor?: string }) => {
      const password = generatePassword();
      await withDb(global(), io, (db) =>
        audited(
          db,
          { actor: actorOf(opts), action: 'operator.reset-password', target: username },
          // Refuses an unknown username with AUTH_NOT_FOUND (exit 1).
          () => setOperatorPassword(db, username, password, new Date()),
        ),
      );
      io.err(`new password for ${username} (shown only now; its sessions are ended):\n`);
      io.out(`${password}\n`);
    });
  // The downlink signing key's rotation steps (docs/downlink-signing.md); a file, not the database.
  registerDownlinkKeyCommands(program, io, () => global().db);
  return program;
}

/** Runs the CLI; returns the exit code (tests call this directly). */
export async function runCloudAdmin(argv: string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed the problem (or the help text) already.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof RegistryError) {
      // The message names every issue on one line (for logs and the API); a terminal gets a list.
      if (error.issues.length === 0) io.err(`error: ${error.message}\n`);
      else {
        const count = error.issues.length;
        io.err(`error: nothing written, ${count} issue${count === 1 ? '' : 's'}:\n`);
      }
      for (const issue of error.issues) io.err(`  ${formatIssue(issue)}\n`);
      return error.code === 'REGISTRY_INVALID' ? EXIT.usage : EXIT.failure;
    }
    if (isCloudConfigError(error)) {
      io.err(`${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof AuthError) {
      io.err(`error: ${error.message}\n`);
      return error.code === 'AUTH_INVALID_ARGUMENT' ? EXIT.usage : EXIT.failure;
    }
    if (error instanceof EnrollmentError) {
      io.err(`error: ${error.message}\n`);
      return (error as EnrollmentError).code === 'ENROLL_INVALID_ARGUMENT' ? EXIT.usage : EXIT.failure;
    }
    io.err(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const code = await runCloudAdmin(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
  });
  process.exitCode = code;
}
