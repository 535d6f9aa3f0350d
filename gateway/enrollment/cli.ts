/**
 * `npm run enroll -- --url <cloud> --token <token> --data-dir <dir> [--ca <file>] [--insecure-http]`
 * (or `--token-file <file>`, which keeps the token out of the process list and shell history).
 * Plain http:// to a host that is not loopback is refused unless `--insecure-http` is given.
 *
 * Exit codes: 0 enrolled, 1 enrollment failed (refused, unreachable, bad answer), 2 bad arguments.
 * The MQTT secret is written to `<data-dir>/uplink-credentials.json` (0600) and never printed.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { enroll, enrollEndpoint } from './enroll.js';
import { GatewayEnrollmentError } from './errors.js';
import { isLoopbackHost, requireSecureEnrollmentUrl } from './transport-policy.js';

const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

interface CliOptions {
  url: string;
  token?: string;
  tokenFile?: string;
  dataDir: string;
  ca?: string;
  insecureHttp?: boolean;
}

export async function runEnrollCli(argv: string[], io: Io): Promise<number> {
  const program = new Command()
    .name('enroll')
    .description('Enroll this gateway with the Kerbside cloud using a one-time token.')
    .requiredOption('--url <url>', 'base URL of the cloud service, e.g. https://cloud.city.example/')
    .option('--token <token>', 'the one-time enrollment token')
    .option('--token-file <file>', 'read the token from this file instead')
    .requiredOption('--data-dir <dir>', 'gateway data directory (uplink-credentials.json is written there)')
    .option('--ca <file>', 'PEM CA bundle that the HTTPS server must chain to (default: system store)')
    .option(
      '--insecure-http',
      'allow a plain http:// URL to a host that is not loopback (token and secret travel unencrypted)',
    )
    .addHelpText('after', '\nExit codes: 0 enrolled, 1 enrollment failed, 2 invalid arguments.')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  let options: CliOptions;
  try {
    program.parse(argv, { from: 'user' });
    options = program.opts<CliOptions>();
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw error;
  }

  const usage = (message: string): number => {
    io.err(`error: ${message}\n`);
    return EXIT.usage;
  };
  if ((options.token === undefined) === (options.tokenFile === undefined)) {
    return usage('give exactly one of --token and --token-file');
  }
  let token = options.token ?? '';
  if (options.tokenFile !== undefined) {
    try {
      token = readFileSync(options.tokenFile, 'utf8').trim();
    } catch (error) {
      return usage(`cannot read --token-file ${options.tokenFile}: ${(error as Error).message}`);
    }
  }
  if (token === '' || /\s/.test(token)) return usage('the token is empty or contains blanks');
  let endpoint: URL;
  try {
    endpoint = enrollEndpoint(options.url);
  } catch (error) {
    return usage((error as Error).message);
  }
  if (options.ca !== undefined && endpoint.protocol !== 'https:')
    return usage('--ca needs an https:// --url');
  const insecure = options.insecureHttp === true;
  try {
    requireSecureEnrollmentUrl(endpoint, insecure);
  } catch (error) {
    return usage((error as Error).message);
  }
  if (endpoint.protocol === 'http:' && !isLoopbackHost(endpoint.hostname)) {
    io.err(
      `warning: ${endpoint.origin} is plain HTTP (--insecure-http): the token and the returned secret cross the network unencrypted\n`,
    );
  }

  try {
    const result = await enroll({
      url: options.url,
      token,
      dataDir: options.dataDir,
      allowInsecureHttp: insecure,
      ...(options.ca === undefined ? {} : { caFile: options.ca }),
    });
    io.out(
      `enrolled as ${result.gatewayId}; credential written to ${result.credentialsFile}` +
        (result.caFile === null ? '' : `, broker CA to ${result.caFile}`) +
        `; downlink signing key pinned: ${result.downlinkKeyIds.join(', ')}` +
        '\n',
    );
    return EXIT.ok;
  } catch (error) {
    if (error instanceof GatewayEnrollmentError) {
      io.err(`enrollment failed: ${error.message}\n`);
      return EXIT.failure;
    }
    io.err(`enrollment failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  process.exitCode = await runEnrollCli(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
}
