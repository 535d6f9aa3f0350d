/**
 * Wire-speed pacing for simulated RTU slaves. A pseudo-terminal or socket delivers bytes at once,
 * while a real RS-485 line carries one character per character time (11 bits in 8E1 or 8N2, MSL
 * 2.5.1). To make a benchmark against the simulator mean something, the slave holds its reply
 * until the moment the last byte of that reply would have arrived on a real line:
 *
 *   request's last byte in  ->  (request bytes) * tc     the request's own transmission
 *                           ->  3.5 * tc                 t3.5: the slave sees the frame end (MSL 2.5.1.1)
 *                           ->  turnaround               the slave's processing time
 *                           ->  (response bytes) * tc    the reply's transmission
 *
 * so one transaction with N registers occupies (8 + 3.5 + 5 + 2N) * tc + turnaround, and with the
 * master's own t3.5 before its next request (20 + 2N) * 11 / baud + turnaround: the wire minimum.
 * The request's transmission counts because a pty delivers it instantly.
 *
 * Node timers fire about 1 ms late, so sleepUntil() sleeps with setTimeout until shortly before
 * the deadline and spends the rest in setImmediate turns, which keep the event loop serving other
 * connections while staying within a few tens of microseconds of the deadline.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay, setImmediate as nextTurn } from 'node:timers/promises';
import { characterTimeMs, type SerialSettings } from '../drivers/transport/transport.js';

export interface RtuPacing {
  serial: SerialSettings;
  /** Slave turnaround between seeing the request and starting the reply (default 2 ms). */
  turnaroundMs?: number;
}

export const DEFAULT_TURNAROUND_MS = 2;

/** Margin left to setImmediate turns; setTimeout overshoots by ~1 ms (more on a busy machine). */
const TIMER_MARGIN_MS = 2;

/** Milliseconds from the request's last byte arriving to the reply's last byte leaving, on a real line. */
export function rtuReplyDelayMs(requestBytes: number, responseBytes: number, pacing: RtuPacing): number {
  const tc = characterTimeMs(pacing.serial);
  return (requestBytes + 3.5 + responseBytes) * tc + (pacing.turnaroundMs ?? DEFAULT_TURNAROUND_MS);
}

/** The least time a whole transaction reading N registers occupies the line (the benchmark reference). */
export function rtuTransactionWireMs(registers: number, pacing: RtuPacing): number {
  return (
    (20 + 2 * registers) * characterTimeMs(pacing.serial) + (pacing.turnaroundMs ?? DEFAULT_TURNAROUND_MS)
  );
}

/** Resolves at `deadline` (performance.now() scale), not before, and usually well under 0.1 ms after. */
export async function sleepUntil(deadline: number): Promise<void> {
  for (;;) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) return;
    if (remaining > TIMER_MARGIN_MS) await delay(remaining - TIMER_MARGIN_MS);
    else await nextTurn();
  }
}
