/**
 * Database-backed credential stores for the embedded broker (broker/credentials.ts): gateways from
 * `gateways`, service accounts from `service_accounts`. Read on every CONNECT, so a disabled or
 * rotated credential takes effect at the next connection without restarting anything.
 */
import type { Kysely } from 'kysely';
import type { CredentialStore, StoredCredential } from '../broker/credentials.js';
import type { CloudSchema } from '../db/schema.js';

/** Gateway credentials keyed by gateway id. */
export class DbGatewayCredentialStore implements CredentialStore {
  constructor(private readonly db: Kysely<CloudSchema>) {}

  async get(id: string): Promise<StoredCredential | null> {
    const row = await this.db
      .selectFrom('gateways')
      .select(['credential_hash', 'disabled'])
      .where('gateway_id', '=', id)
      .executeTakeFirst();
    // Anything but an explicit 0 counts as disabled: deny on doubt.
    return row === undefined ? null : { hash: row.credential_hash, disabled: row.disabled !== 0 };
  }
}

/** Service account credentials keyed by account name (username `service.{name}`). */
export class DbServiceAccountStore implements CredentialStore {
  constructor(private readonly db: Kysely<CloudSchema>) {}

  async get(id: string): Promise<StoredCredential | null> {
    const row = await this.db
      .selectFrom('service_accounts')
      .select(['credential_hash', 'disabled'])
      .where('name', '=', id)
      .executeTakeFirst();
    return row === undefined ? null : { hash: row.credential_hash, disabled: row.disabled !== 0 };
  }
}
