/**
 * Pieces the broker tests share: a logger that keeps its lines, and the MQTT fixed header written
 * byte by byte, for attacks no well-behaved client library would send.
 */
import type { BrokerLogger } from '../../../../cloud-sync/service/broker/embedded.js';

export interface LogLine {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

/** Keeps every line the broker logs, for asserting what was (and was not) written. */
export class MemoryLogger implements BrokerLogger {
  readonly lines: LogLine[] = [];
  info(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
}

/** The Remaining Length encoding of MQTT 3.1.1 section 2.2.3 (the spec's own algorithm). */
export function remainingLength(value: number): number[] {
  const bytes: number[] = [];
  let x = value;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    bytes.push(byte);
  } while (x > 0);
  return bytes;
}

/** An MQTT fixed header (MQTT 3.1.1 section 2.2): the first byte, then `length` (section 2.2.3). */
export function fixedHeader(first: number, length: number): Buffer {
  return Buffer.from([first, ...remainingLength(length)]);
}
