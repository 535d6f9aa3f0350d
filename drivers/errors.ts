/**
 * The error vocabulary of drivers/. drivers/ imports nothing of ours (ARCHITECTURE.md,
 * "Invariants"), so it cannot extend the project's KerbsideError (cloud-sync/contract/errors.ts);
 * DriverError has the same shape (a stable `code` from a catalogue, a message, an optional
 * `cause`) and its catalogues the same `{ CODE: { means } }` table, so docs/errors.md lists
 * driver codes with the rest. Drivers answer no HTTP request, so their codes carry no status.
 *
 * ModbusError lives here rather than in drivers/modbus/ because the transports report a failed
 * link as MODBUS_TRANSPORT, and drivers/transport/ never imports drivers/modbus/.
 */

/** What a driver code means, for docs/errors.md. */
export interface DriverErrorCodeSpec {
  means: string;
}

/** A driver area's codes: the one place they are declared. */
export type DriverErrorCatalogue<Code extends string> = Readonly<Record<Code, DriverErrorCodeSpec>>;

export abstract class DriverError<Code extends string = string> extends Error {
  readonly code: Code;

  protected constructor(
    // Taken so that a code outside the catalogue does not compile; the catalogue holds no data a
    // driver error needs at run time.
    _catalogue: DriverErrorCatalogue<Code>,
    code: Code,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/**
 * Every failure of the Modbus driver and of the transports under it, so callers (the bus
 * scheduler's counters, logs) branch on `code` without parsing messages.
 */
export const MODBUS_ERRORS = {
  MODBUS_TIMEOUT: { means: 'No (complete) reply within the response timeout.' },
  MODBUS_CRC: { means: 'An RTU frame whose CRC-16 does not match.' },
  MODBUS_EXCEPTION: {
    means:
      'The slave answered with an exception response (function code | 0x80); `exceptionCode` says which.',
  },
  MODBUS_WRONG_UNIT: { means: 'A reply from another unit id than the one addressed.' },
  MODBUS_WRONG_FUNCTION: { means: 'A reply for another function code than the request.' },
  MODBUS_WRONG_TRANSACTION: { means: 'MBAP transaction id or protocol id mismatch.' },
  MODBUS_TRUNCATED: { means: 'A frame ended (silence or connection) before its declared length.' },
  MODBUS_MALFORMED: { means: 'A frame or PDU that violates the protocol (bad byte count, bad value).' },
  MODBUS_TRANSPORT: { means: 'The link failed: port gone, connection refused or reset, write failed.' },
  MODBUS_CLOSED: { means: 'The client was closed while the request was pending.' },
  MODBUS_INVALID_REQUEST: { means: 'The caller asked for something the protocol cannot express.' },
} as const satisfies DriverErrorCatalogue<string>;

export type ModbusErrorCode = keyof typeof MODBUS_ERRORS;

export interface ModbusErrorDetails {
  unitId?: number;
  functionCode?: number;
  exceptionCode?: number;
  /** Raw bytes of the offending frame, for diagnostics (hex in logs). */
  frame?: Buffer;
  cause?: unknown;
}

export class ModbusError extends DriverError<ModbusErrorCode> {
  override readonly name = 'ModbusError';
  readonly unitId: number | undefined;
  readonly functionCode: number | undefined;
  readonly exceptionCode: number | undefined;
  readonly frame: Buffer | undefined;

  constructor(code: ModbusErrorCode, message: string, details: ModbusErrorDetails = {}) {
    super(MODBUS_ERRORS, code, message, { cause: details.cause });
    this.unitId = details.unitId;
    this.functionCode = details.functionCode;
    this.exceptionCode = details.exceptionCode;
    this.frame = details.frame;
  }
}

export function isModbusError(value: unknown, code?: ModbusErrorCode): value is ModbusError {
  return value instanceof ModbusError && (code === undefined || value.code === code);
}
