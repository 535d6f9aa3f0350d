/**
 * One-time enrollment tokens (docs/enrollment.md). An operator issues one for a gateway id; the
 * plaintext is returned once and only its SHA-256 is stored, so a leaked database gives nothing
 * that could enroll. A token has 256 random bits: an unsalted hash is enough (nobody can guess
 * the preimage) and lets the redeemer look the row up by its primary key.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isGatewayId } from '../../contract/topics.js';
import type { CloudSchema } from '../db/schema.js';
import { recordAudit } from './audit.js';
import { EnrollmentError } from './errors.js';

/** Shortest and longest token lifetime an operator may ask for. */
export const MIN_TOKEN_TTL_MS = 60_000;
export const MAX_TOKEN_TTL_MS = 30 * 24 * 3600_000;
export const DEFAULT_TOKEN_TTL_MS = 24 * 3600_000;

/** Operators are named in the audit trail; printable, no control characters, bounded. */
const ACTOR_RE = /^[\p{L}\p{N}._@:+-]{1,128}$/u;

export function isActorName(value: string): boolean {
  return ACTOR_RE.test(value);
}

export function requireActor(value: string): void {
  if (!isActorName(value)) {
    throw new EnrollmentError(
      'ENROLL_INVALID_ARGUMENT',
      'operator name must be 1 to 128 letters, digits or . _ @ : + - (it is written to the audit trail)',
    );
  }
}

/** A new token: 32 random bytes, base64url (43 characters, safe in shells and URLs). */
export function generateEnrollmentToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Lower-case hex SHA-256 of a token: the stored form and the lookup key. */
export function hashEnrollmentToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A short, non-reversible reference to a token for logs: the first 12 hex digits of its hash. */
export function tokenRef(tokenHash: string): string {
  return tokenHash.slice(0, 12);
}

const TTL_RE = /^([1-9][0-9]{0,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 } as const;

/** `90s`, `30m`, `24h`, `7d` → milliseconds; throws EnrollmentError outside 1 minute .. 30 days. */
export function parseTtl(text: string): number {
  const match = TTL_RE.exec(text);
  if (match === null) {
    throw new EnrollmentError(
      'ENROLL_INVALID_ARGUMENT',
      `invalid ttl ${JSON.stringify(text)}: use a number and a unit s, m, h or d (e.g. 24h)`,
    );
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms < MIN_TOKEN_TTL_MS || ms > MAX_TOKEN_TTL_MS) {
    throw new EnrollmentError('ENROLL_INVALID_ARGUMENT', `ttl ${text} is outside 1m .. 30d`);
  }
  return ms;
}

export interface IssueTokenOptions {
  gatewayId: string;
  createdBy: string;
  ttlMs?: number;
  now?: Date;
}

export interface IssuedToken {
  /** The plaintext token: show it once, it is not stored. */
  token: string;
  gatewayId: string;
  expiresAt: string;
}

/**
 * Issues a token that enrolls `gatewayId` (first enrollment, or re-enrollment that rotates the
 * credential). Refused for an invalid id and for a disabled gateway (enable it first, on purpose).
 */
export async function issueEnrollmentToken(
  db: Kysely<CloudSchema>,
  options: IssueTokenOptions,
): Promise<IssuedToken> {
  const { gatewayId, createdBy } = options;
  if (!isGatewayId(gatewayId)) {
    throw new EnrollmentError(
      'ENROLL_INVALID_ARGUMENT',
      `invalid gateway id ${JSON.stringify(gatewayId)}: 2 to 63 lower-case letters, digits and hyphens, not starting with a hyphen`,
    );
  }
  requireActor(createdBy);
  const ttlMs = options.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
  if (!Number.isInteger(ttlMs) || ttlMs < MIN_TOKEN_TTL_MS || ttlMs > MAX_TOKEN_TTL_MS) {
    throw new EnrollmentError('ENROLL_INVALID_ARGUMENT', 'token ttl must be between 1 minute and 30 days');
  }
  const now = options.now ?? new Date();
  const token = generateEnrollmentToken();
  const tokenHash = hashEnrollmentToken(token);
  const expiresAt = new Date(now.getTime() + ttlMs).toISOString();

  await db.transaction().execute(async (trx) => {
    const gateway = await trx
      .selectFrom('gateways')
      .select('disabled')
      .where('gateway_id', '=', gatewayId)
      .executeTakeFirst();
    if (gateway !== undefined && gateway.disabled !== 0) {
      throw new EnrollmentError(
        'ENROLL_CONFLICT',
        `gateway ${gatewayId} is disabled; enable it first if it should enroll again`,
      );
    }
    await trx
      .insertInto('enrollment_tokens')
      .values({
        token_hash: tokenHash,
        gateway_id: gatewayId,
        created_by: createdBy,
        created_at: now.toISOString(),
        expires_at: expiresAt,
        used_at: null,
        used_from: null,
      })
      .execute();
    await recordAudit(
      trx,
      {
        actor: createdBy,
        action: 'token.create',
        target: gatewayId,
        detail: { tokenRef: tokenRef(tokenHash), expiresAt },
        // Issued by an administrator at the cloud-admin command line (cli.ts).
        outcome: 'ok',
        source: 'cli',
      },
      now,
    );
  });
  return { token, gatewayId, expiresAt };
}
