/**
 * Administration of enrolled gateways and of service accounts (the cloud's own MQTT clients).
 * Every change is audited in its own transaction (audit.ts).
 */
import type { Kysely } from 'kysely';
import { isGatewayId } from '../../contract/topics.js';
import { generateSecret, hashSecret } from '../broker/credentials.js';
import { notifyCredentialsChanged } from '../broker/revocation.js';
import type { CloudSchema } from '../db/schema.js';
import type { CredentialKey } from '../secrets/credential-key.js';
import { recordAudit } from './audit.js';
import { EnrollmentError } from './errors.js';
import { mosquittoHash } from './mosquitto-hash.js';
import { requireActor } from './tokens.js';

export interface GatewaySummary {
  gatewayId: string;
  disabled: boolean;
  enrolledAt: string;
  rotatedAt: string | null;
  /** Unused, unexpired tokens that would (re-)enroll it. */
  pendingTokens: number;
}

export async function listGateways(db: Kysely<CloudSchema>, now = new Date()): Promise<GatewaySummary[]> {
  const rows = await db
    .selectFrom('gateways')
    .select(['gateway_id', 'disabled', 'enrolled_at', 'rotated_at'])
    .orderBy('gateway_id')
    .execute();
  const pending = await db
    .selectFrom('enrollment_tokens')
    .select(['gateway_id', (eb) => eb.fn.countAll<number>().as('count')])
    .where('used_at', 'is', null)
    .where('expires_at', '>', now.toISOString())
    .groupBy('gateway_id')
    .execute();
  const pendingById = new Map(pending.map((row) => [row.gateway_id, Number(row.count)]));
  return rows.map((row) => ({
    gatewayId: row.gateway_id,
    disabled: row.disabled !== 0,
    enrolledAt: row.enrolled_at,
    rotatedAt: row.rotated_at,
    pendingTokens: pendingById.get(row.gateway_id) ?? 0,
  }));
}

/**
 * Disables (or re-enables) a gateway. The embedded broker refuses a disabled gateway at its next
 * CONNECT and cuts its live session (at once in this process, within its sweep in any other:
 * broker/revocation.ts); for an external broker the password and ACL files must be regenerated and reloaded
 * (docs/enrollment.md). Disabling also revokes the gateway's unused tokens, so a token issued
 * before the decision cannot bring it back.
 */
export async function setGatewayDisabled(
  db: Kysely<CloudSchema>,
  options: { gatewayId: string; disabled: boolean; by: string; now?: Date },
): Promise<void> {
  const { gatewayId, disabled, by } = options;
  requireActor(by);
  if (!isGatewayId(gatewayId)) {
    throw new EnrollmentError('ENROLL_INVALID_ARGUMENT', `invalid gateway id ${JSON.stringify(gatewayId)}`);
  }
  const now = options.now ?? new Date();
  await db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('gateways')
      .set({ disabled: disabled ? 1 : 0, disabled_changed_at: now.toISOString() })
      .where('gateway_id', '=', gatewayId)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) {
      throw new EnrollmentError('ENROLL_NOT_FOUND', `gateway ${gatewayId} is not enrolled`);
    }
    let revokedTokens = 0;
    if (disabled) {
      const revoked = await trx
        .updateTable('enrollment_tokens')
        .set({ used_at: now.toISOString(), used_from: `revoked:${by}` })
        .where('gateway_id', '=', gatewayId)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      revokedTokens = Number(revoked.numUpdatedRows);
    }
    await recordAudit(
      trx,
      {
        actor: by,
        action: disabled ? 'gateway.disable' : 'gateway.enable',
        target: gatewayId,
        ...(disabled ? { detail: { revokedTokens } } : {}),
        outcome: 'ok',
        source: 'cli',
      },
      now,
    );
  });
  if (disabled) notifyCredentialsChanged();
}

export interface ServiceAccountSecret {
  name: string;
  /** Shown once; only hashes are stored. */
  secret: string;
}

/**
 * Creates a service account (or, with `rotate`, gives an existing one a new secret). The name
 * follows the gateway id pattern, as the embedded broker requires (`service.{name}`).
 */
export async function createServiceAccount(
  db: Kysely<CloudSchema>,
  options: {
    name: string;
    by: string;
    /** The key of the stored hash (broker/credentials.ts), the service's credential key file. */
    credentialKey: CredentialKey;
    rotate?: boolean;
    now?: Date;
  },
): Promise<ServiceAccountSecret> {
  const { name, by } = options;
  requireActor(by);
  if (!isGatewayId(name)) {
    throw new EnrollmentError(
      'ENROLL_INVALID_ARGUMENT',
      `invalid service account name ${JSON.stringify(name)}: 2 to 63 lower-case letters, digits and hyphens`,
    );
  }
  const now = options.now ?? new Date();
  const secret = generateSecret();
  const credentialHash = hashSecret(secret, options.credentialKey);
  const mosqHash = await mosquittoHash(secret);
  await db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('service_accounts')
      .select('name')
      .where('name', '=', name)
      .executeTakeFirst();
    if (options.rotate === true) {
      if (existing === undefined) {
        throw new EnrollmentError('ENROLL_NOT_FOUND', `service account ${name} does not exist`);
      }
      await trx
        .updateTable('service_accounts')
        .set({ credential_hash: credentialHash, mosquitto_hash: mosqHash, rotated_at: now.toISOString() })
        .where('name', '=', name)
        .execute();
    } else {
      if (existing !== undefined) {
        throw new EnrollmentError(
          'ENROLL_CONFLICT',
          `service account ${name} exists already (use rotate to give it a new secret)`,
        );
      }
      await trx
        .insertInto('service_accounts')
        .values({
          name,
          credential_hash: credentialHash,
          mosquitto_hash: mosqHash,
          disabled: 0,
          created_by: by,
          created_at: now.toISOString(),
          rotated_at: null,
        })
        .execute();
    }
    await recordAudit(
      trx,
      {
        actor: by,
        action: options.rotate === true ? 'service.rotate' : 'service.create',
        target: name,
        outcome: 'ok',
        source: 'cli',
      },
      now,
    );
  });
  // The old secret's live sessions are cut now rather than at the next revocation sweep
  // (broker/revocation.ts): after the commit, so the sweep reads the new hash.
  if (options.rotate === true) notifyCredentialsChanged();
  return { name, secret };
}
