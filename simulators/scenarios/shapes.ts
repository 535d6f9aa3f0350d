/** Time shapes the scenarios are built from; t and the edges are in seconds. */

/** 0 before `from`, rising linearly to 1 at `to`, 1 after. */
export function rampUp(t: number, from: number, to: number): number {
  if (t <= from) return 0;
  if (t >= to) return 1;
  return (t - from) / (to - from);
}

/**
 * A trapezoid: 0 before `start`, rising over `rise`, 1 for `hold`, falling over `fall`, then 0.
 * The whole event is rampUp-hold-rampDown, the usual shape of a leak or a lifted cover.
 */
export function trapezoid(t: number, start: number, rise: number, hold: number, fall: number): number {
  const top = start + rise;
  const down = top + hold;
  if (t <= start || t >= down + fall) return 0;
  if (t < top) return (t - start) / rise;
  if (t <= down) return 1;
  return 1 - (t - down) / fall;
}
