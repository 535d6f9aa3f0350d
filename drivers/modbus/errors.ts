/**
 * The Modbus driver's errors. Every failure is a ModbusError with a stable code (ARCHITECTURE.md,
 * "Invariants"; docs/errors.md lists them), so callers branch on `code` without parsing messages.
 * The class, its catalogue (MODBUS_ERRORS) and isModbusError live in drivers/errors.ts because the
 * transports throw it too and drivers/transport/ never imports drivers/modbus/; they are
 * re-exported here, so the driver and its callers import them from the Modbus folder.
 */
export { ModbusError, isModbusError, type ModbusErrorCode, type ModbusErrorDetails } from '../errors.js';

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
