/**
 * The Modbus driver's public surface: pure codecs (PDU, RTU, MBAP, data types), the client, and
 * the transports it runs on. Everything here is protocol code; see docs/modbus-driver.md.
 */
export * from './errors.js';
export * from './crc.js';
export * from './pdu.js';
export * from './rtu.js';
export * from './tcp.js';
export * from './datatypes.js';
export * from './client.js';
export * from '../transport/transport.js';
export * from '../transport/serial.js';
export * from '../transport/tcp.js';
export * from '../transport/mock.js';
