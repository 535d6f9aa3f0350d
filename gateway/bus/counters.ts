/** Transaction counters kept per bus and per device (bus diagnostics in the web UI and /metrics). */
import type { ModbusErrorCode } from '../../drivers/modbus/errors.js';
import type { TransactionCounters } from './types.js';

export class TransactionStats implements TransactionCounters {
  transactions = 0;
  timeouts = 0;
  crcErrors = 0;
  exceptions = 0;
  otherErrors = 0;
  retries = 0;
  lastRttMs: number | null = null;
  maxRttMs: number | null = null;
  private rttSum = 0;
  private rttCount = 0;

  get meanRttMs(): number | null {
    return this.rttCount === 0 ? null : this.rttSum / this.rttCount;
  }

  recordSuccess(rttMs: number): void {
    this.transactions++;
    this.lastRttMs = rttMs;
    this.maxRttMs = this.maxRttMs === null ? rttMs : Math.max(this.maxRttMs, rttMs);
    this.rttSum += rttMs;
    this.rttCount++;
  }

  recordFailure(code: ModbusErrorCode | string): void {
    this.transactions++;
    if (code === 'MODBUS_TIMEOUT') this.timeouts++;
    else if (code === 'MODBUS_CRC') this.crcErrors++;
    else if (code === 'MODBUS_EXCEPTION') this.exceptions++;
    else this.otherErrors++;
  }

  snapshot(): TransactionCounters {
    return {
      transactions: this.transactions,
      timeouts: this.timeouts,
      crcErrors: this.crcErrors,
      exceptions: this.exceptions,
      otherErrors: this.otherErrors,
      retries: this.retries,
      lastRttMs: this.lastRttMs,
      meanRttMs: this.meanRttMs,
      maxRttMs: this.maxRttMs,
    };
  }
}
