/**
 * "Now" as the cabinet sees it, ticking once a second, for relative ages ("12 秒前"). A phone's
 * clock and a cabinet's (perhaps without NTP) can differ by minutes; ages are measured against the
 * cabinet's clock, whose offset the live stream's `hello` and every snapshot tell us.
 */
import { signal } from '@preact/signals';

let offsetMs = 0;

export const nowMs = signal(Date.now());

setInterval(() => {
  nowMs.value = Date.now() + offsetMs;
}, 1000);

/** Records the server's wall clock (LiveEvents.hello.serverWallMs, CabinetFacts.clock.wallMs). */
export function setServerTime(serverWallMs: number): void {
  offsetMs = serverWallMs - Date.now();
  nowMs.value = serverWallMs;
}

/** Seconds since a wall-clock instant, by the cabinet's clock. */
export function ageS(wallMs: number): number {
  return (nowMs.value - wallMs) / 1000;
}
