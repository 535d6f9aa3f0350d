/**
 * Every failure of the Modbus driver is a ModbusError with a stable code, so callers (the bus
 * scheduler's counters, the web UI, logs) can branch on `code` without parsing messages.
 * ARCHITECTURE.md, "Invariants": one error class per area; never throw non-Errors.
 */
export type ModbusErrorCode =
  | 'MODBUS_TIMEOUT' // no (complete) reply within the response timeout
  | 'MODBUS_CRC' // RTU frame whose CRC-16 does not match
  | 'MODBUS_EXCEPTION' // the slave answered with an exception response (function code | 0x80)
  | 'MODBUS_WRONG_UNIT' // reply from another unit id than the one addressed
  | 'MODBUS_WRONG_FUNCTION' // reply for another function code than the request
  | 'MODBUS_WRONG_TRANSACTION' // MBAP transaction id or protocol id mismatch
  | 'MODBUS_TRUNCATED' // a frame ended (silence or connection) before its declared length
  | 'MODBUS_MALFORMED' // a frame or PDU that violates the protocol (bad byte count, bad value)
  | 'MODBUS_TRANSPORT' // the link failed (port gone, socket reset, write failed)
  | 'MODBUS_CLOSED' // the client was closed while the request was pending
  | 'MODBUS_INVALID_REQUEST'; // the caller asked for something the protocol cannot express

/** Exception codes, Modbus Application Protocol v1.1b3 section 7. */
export const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  0x01: 'ILLEGAL FUNCTION',
  0x02: 'ILLEGAL DATA ADDRESS',
  0x03: 'ILLEGAL DATA VALUE',
  0x04: 'SERVER DEVICE FAILURE',
  0x05: 'ACKNOWLEDGE',
  0x06: 'SERVER DEVICE BUSY',
  0x08: 'MEMORY PARITY ERROR',
  0x0a: 'GATEWAY PATH UNAVAILABLE',
  0x0b: 'GATEWAY TARGET DEVICE FAILED TO RESPOND',
};

export interface ModbusErrorDetails {
  unitId?: number;
  functionCode?: number;
  exceptionCode?: number;
  /** Raw bytes of the offending frame, for diagnostics (hex in logs). */
  frame?: Buffer;
  cause?: unknown;
}

export class ModbusError extends Error {
  override readonly name = 'ModbusError';
  readonly code: ModbusErrorCode;
  readonly unitId: number | undefined;
  readonly functionCode: number | undefined;
  readonly exceptionCode: number | undefined;
  readonly frame: Buffer | undefined;

  constructor(code: ModbusErrorCode, message: string, details: ModbusErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.unitId = details.unitId;
    this.functionCode = details.functionCode;
    this.exceptionCode = details.exceptionCode;
    this.frame = details.frame;
  }
}

export function isModbusError(value: unknown, code?: ModbusErrorCode): value is ModbusError {
  return value instanceof ModbusError && (code === undefined || value.code === code);
}
