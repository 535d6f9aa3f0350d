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

  /**
   * Many gateways in one query: the broker's revocation sweep (broker/revocation.ts) reads every
   * connected gateway's credential each interval. Chunked to stay under SQLite's 32766 bound
   * parameters and PostgreSQL's 65535.
   */
  async getMany(ids: readonly string[]): Promise<Map<string, StoredCredential>> {
    const found = new Map<string, StoredCredential>();
    for (let start = 0; start < ids.length; start += 1000) {
      const rows = await this.db
        .selectFrom('gateways')
        .select(['gateway_id', 'credential_hash', 'disabled'])
        .where('gateway_id', 'in', ids.slice(start, start + 1000))
        .execute();
      for (const row of rows)
        found.set(row.gateway_id, { hash: row.credential_hash, disabled: row.disabled !== 0 });
    }
    return found;
  }

  /** Compare-and-set: a re-enrollment that rotated the credential meanwhile is kept. */
  async upgrade(id: string, from: string, to: string): Promise<void> {
    await this.db
      .updateTable('gateways')
      .set({ credential_hash: to })
      .where('gateway_id', '=', id)
      .where('credential_hash', '=', from)
      .execute();
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

  /** Compare-and-set, like the gateways' store. */
  async upgrade(id: string, from: string, to: string): Promise<void> {
    await this.db
      .updateTable('service_accounts')
      .set({ credential_hash: to })
      .where('name', '=', id)
      .where('credential_hash', '=', from)
      .execute();
  }
}
