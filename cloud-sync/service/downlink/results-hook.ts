/**
 * Settles downlink commands and configuration versions from the gateway's outbox events
 * (docs/uplink-contract.md, delivery rule 7: results come back as events, never as a PUBACK). It is
 * an ingest hook (ingest.ts): it runs inside the batch's transaction, so a result is recorded
 * exactly when its event is committed, once, and a failure rolls the batch back for the gateway to
 * resend.
 *
 * Every lookup is scoped to the gateway of the batch (the broker-authenticated topic): a gateway
 * can never settle another gateway's command or configuration version.
 */
import type { Transaction } from 'kysely';
import type {
  CommandResultEvent,
  ConfigOverrideEvent,
  ConfigResultEvent,
  OutboxEvent,
} from '../../contract/events.js';
import type { CloudSchema } from '../db/schema.js';
import type { IngestHook, IngestHookContext } from '../ingest/ingest.js';
import { FINAL_COMMAND_STATUSES, type CommandStatus } from './commands.js';

type Envelope = { id: string; ts: string };

/**
 * command_result: a final status (succeeded, failed, rejected, expired) settles a command that
 * has none yet, including one already marked `unconfirmed` (the late result wins); the first final
 * result is kept. `duplicate` (the gateway saw the id before, e.g. after a resend) says nothing
 * about the outcome: it never changes the status and only fills the result fields of a command
 * that has none. An unknown command id (not issued here, or for another gateway) is skipped.
 */
async function applyCommandResult(
  trx: Transaction<CloudSchema>,
  context: IngestHookContext,
  event: CommandResultEvent & Envelope,
): Promise<void> {
  const command = await trx
    .selectFrom('commands')
    .select(['status', 'result_at'])
    .where('id', '=', event.commandId)
    .where('gateway_id', '=', context.gatewayId)
    .executeTakeFirst();
  if (command === undefined) return;
  const result = { result_at: context.receivedAt, error: event.error, result_event_id: event.id };
  // A refusal for the signature (`code`, contract/signing.ts) is about a message someone else may
  // have published with this id (the broker or a service account can): it settles nothing, like a
  // duplicate, or a forged copy could mark the genuine command rejected before it runs.
  if (event.status === 'duplicate' || event.code !== undefined) {
    if (command.result_at !== null) return;
    await trx.updateTable('commands').set(result).where('id', '=', event.commandId).execute();
    return;
  }
  if (FINAL_COMMAND_STATUSES.includes(command.status as CommandStatus)) return;
  await trx
    .updateTable('commands')
    .set({ ...result, status: event.status })
    .where('id', '=', event.commandId)
    .execute();
}

/**
 * config_result: the version's status becomes what the gateway reports (applied, rejected,
 * rolled_back), whatever it was (a superseded version may still have been applied). Older applied
 * versions stay `applied` as history; ConfigDocumentService.current() takes the highest. A result
 * whose hash is not the stored one is about a document this database did not issue (e.g. after a
 * restore from backup) and is skipped rather than attached to the wrong document.
 */
async function applyConfigResult(
  trx: Transaction<CloudSchema>,
  context: IngestHookContext,
  event: ConfigResultEvent & Envelope,
): Promise<void> {
  // Refused for its signature: a copy someone else published settles nothing (as for commands).
  if (event.code !== undefined) return;
  await trx
    .updateTable('config_versions')
    .set({
      status: event.status,
      result_at: context.receivedAt,
      errors: event.status === 'applied' && event.errors.length === 0 ? null : JSON.stringify(event.errors),
    })
    .where('gateway_id', '=', context.gatewayId)
    .where('version', '=', event.version)
    .where('hash', '=', event.hash)
    .execute();
}

/** config_override: one row per event id, so a re-delivery can never record it twice. */
async function recordConfigOverride(
  trx: Transaction<CloudSchema>,
  context: IngestHookContext,
  event: ConfigOverrideEvent & Envelope,
): Promise<void> {
  const json = (value: unknown): string | null =>
    value === undefined || value === null ? null : JSON.stringify(value);
  await trx
    .insertInto('config_overrides')
    .values({
      event_id: event.id,
      gateway_id: context.gatewayId,
      pointer: event.pointer,
      action: event.action,
      value: event.action === 'clear' ? null : json(event.value),
      previous: json(event.previous),
      actor: event.by,
      reason: event.reason,
      ts: event.ts,
      received_at: context.receivedAt,
    })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .execute();
}

/** The ingest hook of the downlink; the service passes it in the consumer's `ingestHooks`. */
export function downlinkResultsHook(): IngestHook {
  return async (trx, context, fresh: readonly OutboxEvent[]) => {
    for (const event of fresh) {
      if (event.kind === 'command_result') await applyCommandResult(trx, context, event);
      else if (event.kind === 'config_result') await applyConfigResult(trx, context, event);
      else if (event.kind === 'config_override') await recordConfigOverride(trx, context, event);
    }
  };
}
