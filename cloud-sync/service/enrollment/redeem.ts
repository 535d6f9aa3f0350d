/**
 * Redeeming an enrollment token (docs/enrollment.md): in one transaction the token must exist, be
 * unused and unexpired; it is marked used and the gateway's credential is created or rotated. The
 * caller learns only "refused"; the specific reason goes to the log and, when the token was real,
 * to the audit trail. Neither the token nor the secret is ever logged.
 */
import type { Kysely } from 'kysely';
import { KerbsideError, type ErrorCatalogue } from '../../contract/errors.js';
import { generateSecret, hashSecret } from '../broker/credentials.js';
import { notifyCredentialsChanged } from '../broker/revocation.js';
import type { CloudSchema } from '../db/schema.js';
import { recordAudit } from './audit.js';
import { mosquittoHash } from './mosquitto-hash.js';
import type { CredentialKey } from '../secrets/credential-key.js';
import { hashEnrollmentToken, tokenRef } from './tokens.js';

/** The subset of pino's logger enrollment uses (pino's `(object, message)` call style). */
export interface EnrollmentLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export type RedeemRefusal = 'unknown_token' | 'token_used' | 'token_expired' | 'gateway_disabled';

export type RedeemResult =
  | {
      ok: true;
      gatewayId: string;
      /** The new plaintext secret: returned to the gateway once, never stored or logged. */
      secret: string;
      /** True when the gateway existed and its previous credential was replaced. */
      rotated: boolean;
    }
  | { ok: false; reason: RedeemRefusal };

export interface RedeemOptions {
  token: string;
  /** Who presented it (remote address), for the audit trail. */
  remoteAddress: string;
  /** The key the new credential is hashed with (broker/credentials.ts hashSecret). */
  credentialKey: CredentialKey;
  logger: EnrollmentLogger;
  now?: Date;
}

export const REDEEM_ERRORS = {
  ENROLL_TOKEN_REFUSED: {
    means:
      'A redemption refused inside its transaction, thrown to roll it back; never leaves redeem.ts (the caller gets a refused result).',
  },
} as const satisfies ErrorCatalogue<string>;

type RedeemErrorCode = keyof typeof REDEEM_ERRORS;

/** A refusal found inside the transaction; thrown to roll it back, caught below. */
class Refused extends KerbsideError<RedeemErrorCode> {
  override readonly name = 'Refused';
  constructor(
    readonly reason: RedeemRefusal,
    readonly gatewayId: string,
  ) {
    super(REDEEM_ERRORS, 'ENROLL_TOKEN_REFUSED', reason);
  }
}

type TokenCheck = { ok: true; gatewayId: string } | { ok: false; reason: RedeemRefusal; gatewayId?: string };

async function checkToken(
  db: Kysely<CloudSchema>,
  tokenHash: string,
  now: string,
  lock: boolean,
): Promise<TokenCheck> {
  let query = db
    .selectFrom('enrollment_tokens')
    .select(['gateway_id', 'used_at', 'expires_at'])
    .where('token_hash', '=', tokenHash);
  // PostgreSQL: two concurrent redemptions of one token take turns; SQLite serialises anyway.
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (row === undefined) return { ok: false, reason: 'unknown_token' };
  if (row.used_at !== null) return { ok: false, reason: 'token_used', gatewayId: row.gateway_id };
  // ISO 8601 UTC strings of one fixed format compare like the instants they name.
  if (row.expires_at <= now) return { ok: false, reason: 'token_expired', gatewayId: row.gateway_id };
  const gateway = await db
    .selectFrom('gateways')
    .select('disabled')
    .where('gateway_id', '=', row.gateway_id)
    .executeTakeFirst();
  if (gateway !== undefined && gateway.disabled !== 0) {
    return { ok: false, reason: 'gateway_disabled', gatewayId: row.gateway_id };
  }
  return { ok: true, gatewayId: row.gateway_id };
}

export async function redeemEnrollmentToken(
  db: Kysely<CloudSchema>,
  options: RedeemOptions,
): Promise<RedeemResult> {
  const { token, remoteAddress, logger } = options;
  const now = options.now ?? new Date();
  const nowText = now.toISOString();
  const tokenHash = hashEnrollmentToken(token);
  const ref = tokenRef(tokenHash);
  const actor = `enrollment:${remoteAddress}`;

  const refuse = async (reason: RedeemRefusal, gatewayId?: string): Promise<RedeemResult> => {
    logger.warn({ tokenRef: ref, gatewayId, remoteAddress, reason }, 'enrollment refused');
    // Only refusals of a real token are audited: an unknown token names no gateway, and auditing
    // every guess would let anyone on the network grow the table.
    if (gatewayId !== undefined) {
      await recordAudit(
        db,
        {
          actor,
          action: 'enroll.refused',
          target: gatewayId,
          detail: { tokenRef: ref, reason },
          outcome: 'denied',
          source: `http:${remoteAddress}`,
        },
        now,
      );
    }
    return { ok: false, reason };
  };

  // A cheap check first, so a bad token never costs the PBKDF2 work below (that would
  // hand anyone on the network a CPU amplifier). The transaction checks everything again.
  const precheck = await checkToken(db, tokenHash, nowText, false);
  if (!precheck.ok) return refuse(precheck.reason, precheck.gatewayId);

  // mosquitto's PBKDF2 takes milliseconds: done before the transaction so it does not hold the
  // database (SQLite has one writer; ingest must not wait on it). The keyed hash is microseconds.
  const secret = generateSecret();
  const credentialHash = hashSecret(secret, options.credentialKey);
  const mosqHash = await mosquittoHash(secret);

  try {
    const rotated = await db.transaction().execute(async (trx) => {
      const check = await checkToken(trx, tokenHash, nowText, true);
      if (!check.ok) throw new Refused(check.reason, check.gatewayId ?? precheck.gatewayId);
      const gatewayId = check.gatewayId;
      const marked = await trx
        .updateTable('enrollment_tokens')
        .set({ used_at: nowText, used_from: remoteAddress.slice(0, 256) })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      // Belt and braces against a concurrent redemption on a database without row locks.
      if (Number(marked.numUpdatedRows) !== 1) throw new Refused('token_used', gatewayId);

      const existing = await trx
        .selectFrom('gateways')
        .select('gateway_id')
        .where('gateway_id', '=', gatewayId)
        .executeTakeFirst();
      if (existing === undefined) {
        await trx
          .insertInto('gateways')
          .values({
            gateway_id: gatewayId,
            credential_hash: credentialHash,
            mosquitto_hash: mosqHash,
            disabled: 0,
            enrolled_at: nowText,
            rotated_at: null,
            disabled_changed_at: null,
          })
          .execute();
      } else {
        await trx
          .updateTable('gateways')
          .set({ credential_hash: credentialHash, mosquitto_hash: mosqHash, rotated_at: nowText })
          .where('gateway_id', '=', gatewayId)
          .execute();
      }
      await recordAudit(
        trx,
        {
          actor,
          action: existing === undefined ? 'enroll' : 'enroll.rotate',
          target: gatewayId,
          detail: { tokenRef: ref },
          outcome: 'ok',
          source: `http:${remoteAddress}`,
        },
        now,
      );
      return existing !== undefined;
    });
    logger.info({ tokenRef: ref, gatewayId: precheck.gatewayId, remoteAddress, rotated }, 'gateway enrolled');
    // A rotation revokes the old secret: this process's broker cuts its live session at once
    // (other processes and instances within their sweep, broker/revocation.ts).
    if (rotated) notifyCredentialsChanged();
    return { ok: true, gatewayId: precheck.gatewayId, secret, rotated };
  } catch (error) {
    if (error instanceof Refused) return refuse(error.reason, error.gatewayId);
    throw error;
  }
}
