/**
 * `cloud-admin downlink-key ...`: the rotation steps of the downlink signing key
 * (docs/downlink-signing.md, "Key rotation"), on the key file the service uses:
 *
 *   downlink-key list                 the keys, which one signs, and their creation time
 *   downlink-key prepare              adds a key that does not sign yet (announced after a restart)
 *   downlink-key activate <keyId>     that key signs (after a restart of every instance)
 *   downlink-key retire <keyId>       removes a key that no longer signs
 *
 * The file is `--file <path>`, else DOWNLINK_SIGNING_KEY_FILE, else the service's default beside
 * the SQLite file (`--db`, else the service's default database). Only public data is printed: key
 * ids and public keys, never a private key. Each step needs a restart of every service instance,
 * which reads the file at start.
 */
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULTS } from '../config.js';
import {
  DEFAULT_KEY_FILE_NAME,
  activateKey,
  prepareNextKey,
  requireKeyFile,
  retireKey,
} from './signing-key.js';

export interface KeyCliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The key file: --file, DOWNLINK_SIGNING_KEY_FILE, or beside the SQLite file (--db or the default). */
function keyFile(io: KeyCliIo, file: string | undefined, db: string | undefined): string {
  const cwd = io.cwd ?? process.cwd();
  const given = file ?? io.env['DOWNLINK_SIGNING_KEY_FILE']?.trim();
  if (given !== undefined && given !== '') return resolve(cwd, given);
  return join(dirname(resolve(cwd, db ?? DEFAULTS.sqlitePath)), DEFAULT_KEY_FILE_NAME);
}

/** Adds `downlink-key` to the cloud-admin program; `db()` is the program's --db option. */
export function registerDownlinkKeyCommands(
  program: Command,
  io: KeyCliIo,
  db: () => string | undefined,
): void {
  const group = program
    .command('downlink-key')
    .description(
      'the downlink signing keys (docs/downlink-signing.md); restart every instance after a change',
    )
    .option('--file <path>', 'the key file (else DOWNLINK_SIGNING_KEY_FILE, else beside the SQLite file)');
  const path = (): string => {
    const chosen = keyFile(io, group.opts<{ file?: string }>().file, db());
    io.err(`key file: ${chosen}\n`);
    return chosen;
  };
  const restart = (): void => io.err('restart every service instance for the change to take effect\n');

  group
    .command('list')
    .description('the keys of the file; * marks the one that signs')
    .action(async () => {
      const keys = await requireKeyFile(path());
      for (const k of keys.keys)
        io.out(`${k.keyId === keys.signWith ? '*' : ' '} ${k.keyId}  ${k.publicKey}  ${k.createdAt}\n`);
    });
  group
    .command('prepare')
    .description('step 1: add a new key; the current one still signs and announces it')
    .action(async () => {
      const keyId = await prepareNextKey(path());
      io.out(`${keyId}\n`);
      restart();
    });
  group
    .command('activate <keyId>')
    .description('step 2: sign with this key (once gateways have pinned it)')
    .action(async (keyId: string) => {
      await activateKey(path(), keyId);
      io.out(`${keyId} signs\n`);
      restart();
    });
  group
    .command('retire <keyId>')
    .description('step 3: remove a key that no longer signs')
    .action(async (keyId: string) => {
      await retireKey(path(), keyId);
      io.out(`${keyId} retired\n`);
      restart();
    });
}
