/**
 * Waiting in tests: the one polling loop every test and harness uses (issue 11). Polls a probe
 * until it yields a value, and fails with a message naming what was awaited once the timeout has
 * passed. Call sites keep their own defaults (timeout, interval, message) through the options.
 *
 * No sockets or processes here, so unit tests may import it (test/tiers.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** A probe's "not yet": anything else (including `true`, 0 and '') ends the wait. */
export type NotYet = undefined | null | false;

export interface WaitOptions {
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Pause between probes (default 20 ms). */
  intervalMs?: number;
  /** The failure message (default `timed out after <ms> ms waiting for <what>`). */
  message?: (what: string, timeoutMs: number) => string;
  /** Appended to the failure message on its own line: what the test saw instead. */
  detail?: () => string;
}

export const DEFAULT_WAIT_TIMEOUT_MS = 5_000;
export const DEFAULT_WAIT_INTERVAL_MS = 20;

/**
 * Resolves with the first value of `probe` other than undefined, null or false (a promise is
 * awaited); probes at least once, and rejects with an Error once `timeoutMs` have passed.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | NotYet | Promise<T | NotYet>,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) {
      const message =
        options.message?.(what, timeoutMs) ?? `timed out after ${timeoutMs} ms waiting for ${what}`;
      throw new Error(options.detail === undefined ? message : `${message}\n${options.detail()}`);
    }
    await sleep(options.intervalMs ?? DEFAULT_WAIT_INTERVAL_MS);
  }
}

/**
 * Resolves with the first value passed to the callback `register` is given, or rejects after
 * `timeoutMs` with `timed out waiting for <what>`: for waits on an event rather than on a state.
 */
export function waitForCallback<T>(
  register: (resolve: (value: T) => void) => void,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}
