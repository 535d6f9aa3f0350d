/**
 * Commands to gateways, cloud side (docs/uplink-contract.md `down/cmd` and rule 7;
 * docs/downlink.md).
 *
 * A command is stored before it is published, so a broker outage or a crash between the two
 * loses nothing: the row stays `pending` and is published again when the gateway reports online
 * (resendPending). Resending is harmless because the gateway runs each command id once and
 * answers a repeat with a `duplicate` result (rule 7: commands are idempotent by id). What
 * happened on the cabinet comes back only as a command_result outbox event (results-hook.ts);
 * a PUBACK from the broker is never taken as delivery.
 *
 *   pending --published--> sent --command_result--> succeeded | failed | rejected | expired
 *   pending | sent --expiresAt passed, no result--> unconfirmed --late command_result--> (result wins)
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';
import { MAX_PAYLOAD_BYTES } from '../../contract/schemas.js';
import { commandTopic } from '../../contract/topics.js';
import type { Command } from '../../contract/types.js';
import { validateCommand } from '../../contract/validate.js';
import type { CommandsTable } from '../db/case-tables.js';
import type { CloudSchema } from '../db/schema.js';
import { DownlinkError } from './errors.js';
import { requireSendableGateway } from './gateways.js';
import type { DownlinkPublisher } from './publisher.js';
import type { DownlinkSigner } from './signing-key.js';
import type { Issue } from '../../contract/errors.js';

export const COMMAND_STATUSES = [
  'pending',
  'sent',
  'succeeded',
  'failed',
  'rejected',
  'expired',
  'unconfirmed',
] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** Statuses reported by the gateway: settled for good, never overwritten by a later result. */
export const FINAL_COMMAND_STATUSES: readonly CommandStatus[] = [
  'succeeded',
  'failed',
  'rejected',
  'expired',
];

/** Statuses still waiting for a result that may be (re)published while not expired. */
const OPEN_STATUSES: readonly CommandStatus[] = ['pending', 'sent'];

/** Default lifetime of a command: an operator's click is stale after five minutes. */
export const DEFAULT_COMMAND_TTL_S = 300;
/** Longest lifetime: one day, like the longest override a command may ask for (schemas.ts). */
export const MAX_COMMAND_TTL_S = 86_400;

/** A command as the API shows it. */
export interface CommandRecord {
  id: string;
  gatewayId: string;
  action: string;
  target: string;
  params: Record<string, unknown>;
  issuedAt: string;
  expiresAt: string;
  issuedBy: string;
  caseId: string | null;
  status: CommandStatus;
  publishedAt: string | null;
  publishCount: number;
  resultAt: string | null;
  error: string | null;
  resultEventId: string | null;
}

export interface IssueCommandInput {
  gatewayId: string;
  action: string;
  target: string;
  /** The action's params without `by`: the issuing operator is set here, never taken from input. */
  params: Record<string, unknown>;
  /** Seconds until the gateway must not run it any more; default 300, at most 86 400. */
  ttlS?: number;
  /** Username of the operator issuing it; becomes `params.by`. */
  issuedBy: string;
  caseId?: string | null;
}

export interface ListCommandsFilter {
  gatewayId?: string;
  status?: CommandStatus;
  /** Newest first; default 100. */
  limit?: number;
}

export interface CommandServiceOptions {
  db: Kysely<CloudSchema>;
  publisher: DownlinkPublisher;
  /** Signs every published command for its gateway (docs/downlink-signing.md). */
  signer: DownlinkSigner;
  logger: Logger;
  now?: () => Date;
}

export function toCommandRecord(row: Selectable<CommandsTable>): CommandRecord {
  return {
    id: row.id,
    gatewayId: row.gateway_id,
    action: row.action,
    target: row.target,
    params: JSON.parse(row.params) as Record<string, unknown>,
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    issuedBy: row.issued_by,
    caseId: row.case_id,
    status: row.status as CommandStatus,
    publishedAt: row.published_at,
    publishCount: Number(row.publish_count),
    resultAt: row.result_at,
    error: row.error,
    resultEventId: row.result_event_id,
  };
}

/**
 * The `down/cmd` payload of a stored command (docs/uplink-contract.md); it passed validateCommand
 * when issued.
 */
function toWire(record: CommandRecord): Command {
  return {
    id: record.id,
    issuedAt: record.issuedAt,
    expiresAt: record.expiresAt,
    target: record.target,
    action: record.action,
    params: record.params,
  } as unknown as Command;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class CommandService {
  private readonly db: Kysely<CloudSchema>;
  private readonly publisher: DownlinkPublisher;
  private readonly signer: DownlinkSigner;
  private readonly logger: Logger;
  private readonly now: () => Date;

  constructor(options: CommandServiceOptions) {
    this.db = options.db;
    this.publisher = options.publisher;
    this.signer = options.signer;
    this.logger = options.logger;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Checks the whole command against the contract (COMMAND_SCHEMA plus validate.ts's semantic
   * checks) before anything is stored: a command the gateway would reject is refused here with
   * every issue (DOWNLINK_INVALID). Then stores it `pending` (durable) and publishes it; a publish
   * failure is logged and leaves it pending for resendPending. Resolves with the stored row.
   */
  async issue(input: IssueCommandInput): Promise<CommandRecord> {
    await requireSendableGateway(this.db, input.gatewayId);
    const issues: Issue[] = [];
    const ttlS = input.ttlS ?? DEFAULT_COMMAND_TTL_S;
    if (!Number.isInteger(ttlS) || ttlS < 1 || ttlS > MAX_COMMAND_TTL_S) {
      issues.push({
        pointer: '/ttlS',
        message: `must be a whole number of seconds from 1 to ${MAX_COMMAND_TTL_S}`,
      });
    }
    if (!isPlainObject(input.params)) issues.push({ pointer: '/params', message: 'must be an object' });
    const caseId = input.caseId ?? null;
    if (caseId !== null) {
      const found = await this.db
        .selectFrom('cases')
        .select('id')
        .where('id', '=', caseId)
        .executeTakeFirst();
      if (found === undefined)
        issues.push({ pointer: '/caseId', message: `no case ${JSON.stringify(caseId)}` });
    }

    const issuedAt = this.now();
    const lifetimeS = issues.some((i) => i.pointer === '/ttlS') ? DEFAULT_COMMAND_TTL_S : ttlS;
    const command = {
      id: randomUUID(),
      issuedAt: issuedAt.toISOString(),
      expiresAt: new Date(issuedAt.getTime() + lifetimeS * 1000).toISOString(),
      target: input.target,
      action: input.action,
      // The operator is who the service authenticated, whatever the input says (rule 7 audit trail).
      params: { ...(isPlainObject(input.params) ? input.params : {}), by: input.issuedBy },
    };
    const checked = validateCommand(command);
    if (!checked.ok) issues.push(...checked.errors);
    // Room for `sig` (about 250 bytes with two announced keys) is kept.
    if (issues.length === 0 && Buffer.byteLength(JSON.stringify(command)) + 1024 > MAX_PAYLOAD_BYTES) {
      issues.push({ pointer: '', message: `the command is larger than ${MAX_PAYLOAD_BYTES} bytes` });
    }
    if (issues.length > 0) {
      throw new DownlinkError('DOWNLINK_INVALID', 'the command breaks the downlink contract', { issues });
    }

    await this.db
      .insertInto('commands')
      .values({
        id: command.id,
        gateway_id: input.gatewayId,
        action: command.action,
        target: command.target,
        params: JSON.stringify(command.params),
        issued_at: command.issuedAt,
        expires_at: command.expiresAt,
        issued_by: input.issuedBy,
        case_id: caseId,
        status: 'pending',
        published_at: null,
        publish_count: 0,
        result_at: null,
        error: null,
        result_event_id: null,
      })
      .execute();
    this.logger.info(
      { commandId: command.id, gatewayId: input.gatewayId, action: command.action, target: command.target },
      'command stored',
    );
    const stored = await this.require(command.id);
    await this.publishRecord(stored);
    return this.require(command.id);
  }

  /**
   * Publishes again every command of the gateway that has no result and has not expired (the
   * gateway reported online: its broker session may have been lost with what was queued in it).
   * The gateway runs an id once, so a repeat is harmless. Stops at the first publish failure
   * (the broker is gone; the next online report retries). Resolves with the number published.
   */
  async resendPending(gatewayId: string): Promise<number> {
    const rows = await this.db
      .selectFrom('commands')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .where('status', 'in', OPEN_STATUSES)
      .where('expires_at', '>', this.now().toISOString())
      .orderBy('issued_at')
      .orderBy('id')
      .execute();
    let published = 0;
    for (const row of rows) {
      if (!(await this.publishRecord(toCommandRecord(row)))) break;
      published += 1;
    }
    if (published > 0) this.logger.info({ gatewayId, published }, 'open commands published again');
    return published;
  }

  /**
   * Commands past expiresAt without a result become `unconfirmed`: the gateway will not run them
   * any more, but whether it did before expiry is unknown. A result arriving later still wins
   * (results-hook.ts). Resolves with the number changed.
   */
  async expireOverdue(): Promise<number> {
    const result = await this.db
      .updateTable('commands')
      .set({ status: 'unconfirmed' })
      .where('status', 'in', OPEN_STATUSES)
      .where('expires_at', '<', this.now().toISOString())
      .executeTakeFirst();
    const changed = Number(result.numUpdatedRows);
    if (changed > 0) this.logger.info({ changed }, 'expired commands without a result marked unconfirmed');
    return changed;
  }

  async get(id: string): Promise<CommandRecord | null> {
    const row = await this.db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toCommandRecord(row);
  }

  /** Newest first. */
  async list(filter: ListCommandsFilter = {}): Promise<CommandRecord[]> {
    let query = this.db.selectFrom('commands').selectAll();
    if (filter.gatewayId !== undefined) query = query.where('gateway_id', '=', filter.gatewayId);
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    const rows = await query
      .orderBy('issued_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit ?? 100)
      .execute();
    return rows.map(toCommandRecord);
  }

  private async require(id: string): Promise<CommandRecord> {
    const record = await this.get(id);
    if (record === null) throw new DownlinkError('DOWNLINK_NOT_FOUND', `no command ${id}`);
    return record;
  }

  /**
   * Publishes one command (QoS 1, not retained: a retained command would be replayed to the
   * gateway on every subscribe) and records it. True when the broker took it; false (logged) when
   * not, leaving the row as it was. Signed at each publish, so a resend after a key rotation
   * carries the key that signs now (docs/downlink-signing.md).
   */
  private async publishRecord(record: CommandRecord): Promise<boolean> {
    try {
      const signed = this.signer.sign('down/cmd', record.gatewayId, toWire(record));
      await this.publisher.publish(commandTopic(record.gatewayId), JSON.stringify(signed), {
        retain: false,
      });
    } catch (error) {
      this.logger.warn(
        {
          commandId: record.id,
          gatewayId: record.gatewayId,
          err: error instanceof Error ? error.message : String(error),
        },
        'command not published; it stays pending until the gateway reports online',
      );
      return false;
    }
    // Only `pending` becomes `sent`: a result may already have been committed between the
    // PUBACK and this update (the gateway can answer that fast), and it must not be overwritten.
    await this.db
      .updateTable('commands')
      .set((eb) => ({
        status: eb.case().when('status', '=', 'pending').then('sent').else(eb.ref('status')).end(),
        published_at: this.now().toISOString(),
        publish_count: eb('publish_count', '+', 1),
      }))
      .where('id', '=', record.id)
      .execute();
    return true;
  }
}
