/**
 * A technician's switch or dim of a lamp, a loop or a whole cabinet from the cabinet web UI: an
 * override with an expiry (origin 'local', docs/lighting.md "Overrides") whose write is made at
 * once and answered by the concentrator before the call returns (LightingController.command), then
 * recorded with an audit event saying who, from which address, and whether it succeeded or failed.
 *
 * A refusal of the request itself (no such target, a dim level for a lamp without dimming) changed
 * nothing and is not audited; it goes back to the caller as the LightingError it is.
 */
import type { Logger } from 'pino';
import type { AuditEvent } from '../../cloud-sync/contract/events.js';
import type { LightingController } from './controller.js';
import { LightingError } from './types.js';

export interface LocalLightingCommand {
  /** Lamp, loop or cabinet target id (`${deviceId}:lamp_03`, `${deviceId}:loop_2`, `${deviceId}`). */
  target: string;
  action: 'on' | 'off' | 'dim';
  /** Dim level 0..100 %: required for 'dim', optional for 'on'. */
  level?: number;
  /** How long the override holds before the schedule takes over again. */
  durationMs: number;
  reason: string;
}

export interface LocalActor {
  username: string;
  /** The web client's address, for the audit record. */
  address: string;
}

export interface LocalLightingOutcome {
  target: string;
  /** When the override ends, on the wall clock of now (display only: it runs on monotonic time). */
  untilWallMs: number;
}

export interface LocalCommandDeps {
  lighting: Pick<LightingController, 'command'>;
  /** Commits one audit event through the gateway's one commit path (Gateway.audit). */
  audit(event: Omit<AuditEvent, 'kind'>): void;
  logger: Logger;
  /** Default Date.now. */
  wallNow?: () => number;
}

/** Request refusals: nothing was set or written, so there is nothing to audit. */
const REFUSALS = new Set(['LIGHTING_UNKNOWN_TARGET', 'LIGHTING_BAD_OVERRIDE']);

/**
 * Runs the command and audits it ('lighting.switch' or 'lighting.dim', result 'succeeded' or
 * 'failed'). Resolves once the concentrator answered; rejects with LightingError (refusals:
 * LIGHTING_UNKNOWN_TARGET, LIGHTING_BAD_OVERRIDE; failures: LIGHTING_NOT_WRITTEN) or the write's
 * ModbusError.
 */
export async function runLocalLightingCommand(
  deps: LocalCommandDeps,
  cmd: LocalLightingCommand,
  actor: LocalActor,
): Promise<LocalLightingOutcome> {
  const wallNow = deps.wallNow ?? Date.now;
  const startedWallMs = wallNow();
  const detail = {
    address: actor.address,
    action: cmd.action,
    level: cmd.level ?? null,
    durationS: Math.round(cmd.durationMs / 1000),
    reason: cmd.reason,
  };
  const action = cmd.action === 'dim' ? 'lighting.dim' : 'lighting.switch';
  try {
    await deps.lighting.command({
      target: cmd.target,
      action: cmd.action,
      ...(cmd.level === undefined ? {} : { value: cmd.level }),
      durationMs: cmd.durationMs,
      by: actor.username,
      reason: cmd.reason,
      origin: 'local',
    });
  } catch (error) {
    if (error instanceof LightingError && REFUSALS.has(error.code)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    record(deps, {
      actor: actor.username,
      action,
      target: cmd.target,
      detail: { ...detail, result: 'failed', error: message },
    });
    throw error;
  }
  const untilWallMs = startedWallMs + cmd.durationMs;
  record(deps, {
    actor: actor.username,
    action,
    target: cmd.target,
    detail: { ...detail, result: 'succeeded', untilWallMs },
  });
  return { target: cmd.target, untilWallMs };
}

/**
 * The action happened on the street whatever the store says: an audit record that cannot be
 * committed (a full disk) is logged with everything it held, never turned into a failure of the
 * command itself.
 */
function record(deps: LocalCommandDeps, event: Omit<AuditEvent, 'kind'>): void {
  try {
    deps.audit(event);
  } catch (error) {
    deps.logger.error(
      { err: error, audit: event },
      'the audit record of a lighting command could not be stored',
    );
  }
}
