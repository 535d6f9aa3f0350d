/**
 * Opening the credential key against the database it belongs to (secrets/credential-key.ts): the
 * service and cloud-admin call this at start. The stored hashes name the key they were made with,
 * so a key file that is not this database's (another instance's file, a restore that missed it,
 * a typo in the path) stops the start with both key ids named, instead of every gateway being
 * refused as "wrong secret". A missing file is created only while no stored hash needs an older
 * key.
 */
import type { Kysely } from 'kysely';
import { HMAC_SCHEME, isLegacyHash, keyIdOf } from '../broker/credentials.js';
import type { CloudSchema } from '../db/schema.js';
import { createCredentialKey, readCredentialKey, type CredentialKey } from '../secrets/credential-key.js';
import { SecretsError } from '../secrets/errors.js';

export interface OpenedCredentialKey {
  key: CredentialKey;
  /** Rows still in the legacy scrypt form (rewritten at each one's next successful CONNECT). */
  legacyRows: number;
  /** True when the file was made by this call. */
  created: boolean;
}

interface KeyUse {
  /** Key ids found in keyed hashes, with how many rows use each. */
  keyIds: Map<string, number>;
  legacyRows: number;
}

async function keyUse(db: Kysely<CloudSchema>): Promise<KeyUse> {
  const gateways = await db.selectFrom('gateways').select('credential_hash').execute();
  const services = await db.selectFrom('service_accounts').select('credential_hash').execute();
  const use: KeyUse = { keyIds: new Map(), legacyRows: 0 };
  for (const { credential_hash: hash } of [...gateways, ...services]) {
    if (isLegacyHash(hash)) use.legacyRows += 1;
    const id = keyIdOf(hash);
    if (id !== null) use.keyIds.set(id, (use.keyIds.get(id) ?? 0) + 1);
  }
  return use;
}

function describeIds(ids: Map<string, number>): string {
  return [...ids].map(([id, rows]) => `${id} (${rows} row${rows === 1 ? '' : 's'})`).join(', ');
}

/** Reads (or, for a database that needs no other key, creates) the key and checks it fits `db`. */
export async function openCredentialKey(db: Kysely<CloudSchema>, path: string): Promise<OpenedCredentialKey> {
  const use = await keyUse(db);
  const existing = await readCredentialKey(path);
  if (existing === null && use.keyIds.size > 0) {
    throw new SecretsError(
      'CREDENTIAL_KEY_MISMATCH',
      `credential key file ${path} does not exist, but the database holds ${HMAC_SCHEME} credentials ` +
        `made with key ${describeIds(use.keyIds)}: restore that key file (or point mqtt.credentialKeyFile ` +
        'or CREDENTIAL_KEY_FILE at it); a new key would lock every enrolled gateway out',
    );
  }
  const key = existing ?? (await createCredentialKey(path));
  const others = new Map([...use.keyIds].filter(([id]) => id !== key.id));
  if (others.size > 0) {
    throw new SecretsError(
      'CREDENTIAL_KEY_MISMATCH',
      `credential key file ${path} holds key ${key.id}, but the database holds credentials made with key ` +
        `${describeIds(others)}: this is not the key file of this database; use the one it was made with ` +
        '(mqtt.credentialKeyFile or CREDENTIAL_KEY_FILE; instances sharing PostgreSQL need the same file)',
    );
  }
  return { key, legacyRows: use.legacyRows, created: existing === null };
}
