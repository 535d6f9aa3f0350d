/**
 * How the data routes answer the errors of the areas they call: a stable code, a status that says
 * whose problem it is, and the reason in words (ApiError, api-types.ts). Each route answers these
 * itself, so the answer does not depend on which error handler the app installs; anything not
 * listed here is a fault, rethrown to the app's handler (a 500 with a request id).
 *
 * - AlarmError: ALARM_UNKNOWN 404; an operation the alarm's state or the rules refuse 409 (ISA-18.2
 *   state machine, maximum shelve time, a reason required).
 * - DownlinkError: a pointer outside the overlay or an invalid result 400 with the issues; no
 *   override 404; no configuration source 409; not running 503.
 * - BusError: unknown device or point 404, out of range 400, forbidden range 403 (with the
 *   profile's reason), stopped 503. A ModbusError (the device timed out, answered an exception ...)
 *   is the field's answer, 502.
 * - LightingError: unknown target or no lighting 404, bad override 400, not written 409.
 */
import type { FastifyReply } from 'fastify';
import { isKerbsideError, type KerbsideError } from '../../../cloud-sync/contract/errors.js';
import { isModbusError } from '../../../drivers/modbus/errors.js';

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  ALARM_UNKNOWN: 404,
  ALARM_ILLEGAL_OPERATION: 409,
  ALARM_SHELVE_TOO_LONG: 409,
  ALARM_REASON_REQUIRED: 409,
  DOWNLINK_BAD_POINTER: 400,
  DOWNLINK_INVALID: 400,
  DOWNLINK_NO_OVERRIDE: 404,
  DOWNLINK_NO_SOURCE: 409,
  DOWNLINK_SWAP_FAILED: 409,
  DOWNLINK_NOT_RUNNING: 503,
  BUS_UNKNOWN_DEVICE: 404,
  BUS_UNKNOWN_POINT: 404,
  BUS_NOT_WRITABLE: 400,
  BUS_OUT_OF_RANGE: 400,
  BUS_FORBIDDEN_RANGE: 403,
  BUS_STOPPED: 503,
  LIGHTING_UNKNOWN_TARGET: 404,
  LIGHTING_NOT_CONFIGURED: 404,
  LIGHTING_BAD_OVERRIDE: 400,
  LIGHTING_NOT_WRITTEN: 409,
};

/** The status a known error is answered with, or null: not ours to answer (a fault). */
export function statusOf(error: unknown): number | null {
  if (isModbusError(error)) return 502;
  if (!isKerbsideError(error)) return null;
  return STATUS_BY_CODE[error.code] ?? error.status ?? null;
}

/** Sends `{error, message, issues?, ...extra}` with the error's status; rethrows what is not ours. */
export function refuse(
  reply: FastifyReply,
  error: unknown,
  extra: Record<string, unknown> = {},
): FastifyReply {
  const status = statusOf(error);
  if (status === null || !(error instanceof Error)) throw error;
  const known = error as KerbsideError;
  const issues = isKerbsideError(error) ? error.issues : [];
  return reply.code(status).send({
    error: known.code,
    message: known.message,
    ...(issues.length > 0 ? { issues: issues.map((i) => ({ pointer: i.pointer, message: i.message })) } : {}),
    ...extra,
  });
}
