/**
 * Commands from the cloud (`down/cmd`, docs/uplink-contract.md, delivery rule 7; docs/commands.md).
 *
 *   payload ──signature──> parseCommand──> seen before? ──> expired? ──> row 'running' COMMITTED ──>
 *   run ──> row finished + command_result outbox event in ONE transaction
 *
 * - Signed: a payload without a valid signature of the cloud for this gateway (signature.ts,
 *   docs/downlink-signing.md) is answered 'rejected' with a `code` and is neither run nor recorded:
 *   recording it would let a forged copy published first take the genuine command's id.
 *
 * - Idempotent by id: the `commands` table is the memory. An id seen before gets a 'duplicate'
 *   result and is not run again (MQTT QoS 1 redelivers; the cloud may retry).
 * - Expiry: a command arriving after its expiresAt (on the cabinet's wall clock) is recorded and
 *   answered 'expired', never run.
 * - Durable: the row is committed as 'running' BEFORE the command runs, so a crash in between is
 *   seen at the next start (recoverInterrupted) and reported 'failed', never silently lost or
 *   run twice.
 * - Invalid: a payload the contract refuses but whose id is readable is answered 'rejected' with
 *   the issues; one without a readable id cannot be answered and is logged and counted.
 *
 * Lighting commands become LightingController overrides whose write is awaited (succeeded only
 * once the concentrator answered); alarm commands go through the pipeline's operate(), which
 * writes the audit record and the alarm transitions as for a technician's action.
 */
import type { Logger } from 'pino';
import type { CommandResultEvent } from '../../cloud-sync/contract/events.js';
import type { DownlinkRefusalCode } from '../../cloud-sync/contract/signing.js';
import type { Command } from '../../cloud-sync/contract/types.js';
import { parseCommand } from '../../cloud-sync/contract/validate.js';
import { UUID_PATTERN } from '../../cloud-sync/contract/schemas.js';
import type { ShelveOptions } from '../alarms/engine.js';
import { AlarmError, type OperatorAction } from '../alarms/types.js';
import type { OverrideCommand } from '../lighting/types.js';
import { LightingError } from '../lighting/types.js';
import type { AlarmOperationName } from '../pipeline/pipeline.js';
import type { Committer, StoreReader } from '../store/committer.js';
import type { CommandRow } from '../store/downlink-rows.js';
import type { DownlinkVerifier } from './signature.js';

export type CommandStatusName = CommandResultEvent['status'];

/** What the handler needs of the gateway (Gateway implements it; tests may fake it). */
export interface CommandHost {
  store: Pick<StoreReader, 'command' | 'commandsWithStatus' | 'now'>;
  /** The gateway's one commit path (store/committer.ts): commits, then wakes the uplink. */
  committer: Committer;
  /** null: this gateway has no lighting section (lamp and loop commands are rejected). */
  lighting(): { command(cmd: OverrideCommand): Promise<void> } | null;
  /** Pipeline.operate via the gateway: commits the transitions and the audit record. Throws AlarmError. */
  operateAlarm(
    op: AlarmOperationName,
    alarmKey: string,
    action: OperatorAction,
    shelve?: ShelveOptions,
  ): void;
  /** Checks the cloud's signature first (signature.ts); a refused payload goes no further. */
  verifier: DownlinkVerifier;
  logger: Logger;
}

export interface CommandStats {
  /** `${action} ${status}` -> count (Prometheus kerbside_commands_total{action,status}). */
  results: Record<string, number>;
  /** Payloads without a readable id: nothing could be answered. */
  unreadable: number;
}

const UUID_RE = new RegExp(UUID_PATTERN);
const INTERRUPTED = 'interrupted by a restart; outcome unknown';
const LIGHTING_ACTIONS = new Set(['lamp.switch', 'lamp.dim', 'loop.switch']);

export class CommandHandler {
  private readonly results = new Map<string, number>();
  private unreadable = 0;

  constructor(private readonly host: CommandHost) {}

  /**
   * Rows left 'running' by a crash: their outcome is unknown, so they are reported failed (never
   * run again: a lamp switched twice or an alarm acknowledged twice is worse than a clear report).
   */
  recoverInterrupted(): number {
    const rows = this.host.store.commandsWithStatus('running');
    for (const row of rows) {
      this.host.logger.error({ commandId: row.id, action: row.action, target: row.target }, INTERRUPTED);
      this.finish(row, 'failed', INTERRUPTED);
    }
    return rows.length;
  }

  /** One `down/cmd` payload. Never throws: every outcome is a result event or a log line. */
  async handle(payload: Buffer | string): Promise<void> {
    try {
      await this.process(payload);
    } catch (error) {
      this.host.logger.error({ err: error }, 'command handling failed');
    }
  }

  stats(): CommandStats {
    return { results: Object.fromEntries(this.results), unreadable: this.unreadable };
  }

  private async process(payload: Buffer | string): Promise<void> {
    const { store, logger } = this.host;
    const verdict = this.host.verifier.check('down/cmd', payload);
    if (!verdict.ok) return this.refuseUnsigned(verdict.code, verdict.reason, verdict.report, payload);
    const parsed = parseCommand(payload);
    if (!parsed.ok) {
      const envelope = readableEnvelope(payload);
      if (envelope === null) {
        this.unreadable++;
        logger.warn({ errors: parsed.errors }, 'ignored a down/cmd without a readable id');
        return;
      }
      const issues = parsed.errors.map((e) => `${e.pointer === '' ? '(command)' : e.pointer}: ${e.message}`);
      if (store.command(envelope.id) !== undefined) return this.duplicate(envelope);
      logger.warn({ commandId: envelope.id, errors: parsed.errors }, 'rejected an invalid command');
      this.finish(this.newRow(envelope, '{}'), 'rejected', `invalid command: ${issues.join('; ')}`);
      return;
    }
    const command = parsed.value;
    if (store.command(command.id) !== undefined) return this.duplicate(command);
    const row = this.newRow(command, JSON.stringify(command.params));
    const now = store.now();
    if (now.wallMs > Date.parse(command.expiresAt)) {
      this.finish(
        row,
        'expired',
        `arrived at ${new Date(now.wallMs).toISOString()}, after it expired at ${command.expiresAt}`,
      );
      return;
    }
    const refusal = this.refusal(command);
    if (refusal !== null) {
      this.finish(row, 'rejected', refusal);
      return;
    }
    // Committed BEFORE running: a crash from here on is reported at the next start.
    this.host.committer.commit({
      downlink: [{ kind: 'command', row: { ...row, status: 'running' } }],
      at: now,
    });
    logger.info(
      { commandId: command.id, action: command.action, target: command.target },
      'running a cloud command',
    );
    let status: 'succeeded' | 'failed' | 'rejected' = 'succeeded';
    let error: string | null = null;
    try {
      await this.run(command);
    } catch (failure) {
      const message = failure instanceof Error ? failure.message : String(failure);
      status = isRefusal(failure) ? 'rejected' : 'failed';
      error = message;
    }
    this.finish(row, status, error);
  }

  /** Why a valid command cannot be run here at all (before anything is recorded as running). */
  private refusal(command: Command): string | null {
    if (LIGHTING_ACTIONS.has(command.action) && this.host.lighting() === null)
      return `${command.action}: this gateway has no lighting control configured`;
    return null;
  }

  private async run(command: Command): Promise<void> {
    const lighting = this.host.lighting();
    switch (command.action) {
      case 'lamp.switch':
      case 'loop.switch':
      case 'lamp.dim': {
        if (lighting === null) throw new LightingError('LIGHTING_UNKNOWN_TARGET', 'no lighting control');
        const p = command.params;
        const base = { target: command.target, durationMs: p.durationS * 1000, by: p.by, reason: p.reason };
        const override: OverrideCommand =
          command.action === 'lamp.dim'
            ? { ...base, action: 'dim', value: command.params.level }
            : { ...base, action: command.params.on ? 'on' : 'off' };
        await lighting.command({ ...override, origin: 'command' });
        return;
      }
      case 'alarm.acknowledge':
        this.host.operateAlarm('acknowledge', command.target, {
          by: command.params.by,
          reason: command.params.reason ?? '',
        });
        return;
      case 'alarm.shelve': {
        const p = command.params;
        const shelve: ShelveOptions =
          p.mode === 'timed'
            ? { mode: 'timed', durationMs: (p.durationS ?? 0) * 1000 }
            : { mode: 'one-shot' };
        this.host.operateAlarm('shelve', command.target, { by: p.by, reason: p.reason }, shelve);
        return;
      }
    }
  }

  private newRow(envelope: Envelope, params: string): CommandRow {
    const now = this.host.store.now();
    return {
      id: envelope.id,
      issuedAt: envelope.issuedAt,
      expiresAt: envelope.expiresAt,
      target: envelope.target,
      action: envelope.action,
      params,
      status: 'received',
      error: null,
      receivedMonoMs: now.monoMs,
      receivedWallMs: now.wallMs,
      finishedMonoMs: null,
      finishedWallMs: null,
    };
  }

  /** The row's final state and its command_result event, in ONE transaction. */
  private finish(
    row: CommandRow,
    status: Exclude<CommandStatusName, 'duplicate'>,
    error: string | null,
  ): void {
    const now = this.host.store.now();
    this.host.committer.commit(
      {
        downlink: [
          {
            kind: 'command',
            row: { ...row, status, error, finishedMonoMs: now.monoMs, finishedWallMs: now.wallMs },
          },
        ],
        events: [resultEvent(row, status, error)],
        at: now,
      },
      () => this.count(row.action, status),
    );
    const log = { commandId: row.id, action: row.action, target: row.target, status, error };
    if (status === 'succeeded') this.host.logger.info(log, 'cloud command succeeded');
    else this.host.logger.warn(log, `cloud command ${status}`);
  }

  /**
   * Not signed by the cloud for this gateway: answered (unless too many refusals this minute)
   * with `code`, never run, never recorded, so the id stays free for the genuine command.
   */
  private refuseUnsigned(
    code: DownlinkRefusalCode,
    reason: string,
    report: boolean,
    payload: Buffer | string,
  ): void {
    const envelope = readableEnvelope(payload);
    if (envelope === null || !report) {
      if (envelope === null) this.unreadable++;
      return;
    }
    const now = this.host.store.now();
    this.host.committer.commit(
      { events: [{ ...resultEvent(envelope, 'rejected', `${code}: ${reason}`), code }], at: now },
      // One fixed label: the action of a forged message is the sender's text (metric cardinality).
      () => this.count('(unverified)', 'rejected'),
    );
  }

  /** Already handled: answered again, not run again. */
  private duplicate(envelope: Envelope): void {
    const now = this.host.store.now();
    const previous = this.host.store.command(envelope.id);
    const error = `command ${envelope.id} was already received (${previous?.status ?? 'unknown'}); not run again`;
    this.host.committer.commit(
      {
        events: [resultEvent(envelope, 'duplicate', error)],
        at: now,
      },
      () => this.count(envelope.action, 'duplicate'),
    );
    this.host.logger.info(
      { commandId: envelope.id, previous: previous?.status },
      'duplicate command ignored',
    );
  }

  private count(action: string, status: CommandStatusName): void {
    const key = `${action} ${status}`;
    this.results.set(key, (this.results.get(key) ?? 0) + 1);
  }
}

interface Envelope {
  id: string;
  issuedAt: string;
  expiresAt: string;
  target: string;
  action: string;
}

function resultEvent(
  envelope: Envelope,
  status: CommandStatusName,
  error: string | null,
): CommandResultEvent {
  return {
    kind: 'command_result',
    commandId: envelope.id,
    // The contract's id fields are 1..N characters: an empty action or target of an invalid
    // command is named so the result stays valid and readable.
    action: envelope.action === '' ? '(none)' : envelope.action,
    target: envelope.target === '' ? '(none)' : envelope.target,
    status,
    error: error === null ? null : error.slice(0, 2000),
  };
}

/** Refused before it could take effect: a bad request, not a failure of the cabinet. */
function isRefusal(error: unknown): boolean {
  if (error instanceof AlarmError) return true;
  return error instanceof LightingError && error.code === 'LIGHTING_BAD_OVERRIDE';
}

/** The envelope of an invalid command, when its id is readable (a lower-case UUID); else null. */
function readableEnvelope(payload: Buffer | string): Envelope | null {
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const id = v['id'];
  if (typeof id !== 'string' || !UUID_RE.test(id)) return null;
  const text = (key: string): string => {
    const field = v[key];
    return typeof field === 'string' ? field.slice(0, 200) : '';
  };
  return {
    id,
    issuedAt: text('issuedAt'),
    expiresAt: text('expiresAt'),
    target: text('target'),
    action: text('action'),
  };
}
