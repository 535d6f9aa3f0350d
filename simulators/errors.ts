/**
 * One error class for the simulators, with a stable code (ARCHITECTURE.md, "Invariants"), so the
 * CLI can tell a user's mistake (exit code 2) from a crash.
 */
export type SimulatorErrorCode =
  | 'SIM_CONFIG_INVALID' // bad CLI argument or simulation config
  | 'SIM_PROFILE_NOT_FOUND' // no profile with that id
  | 'SIM_POINT_MISSING' // a point key the caller or a scenario needs is not in the profile
  | 'SIM_SCENARIO_UNKNOWN' // no such scenario for the device's family
  | 'SIM_FAULT_INVALID' // bad fault spec, or a fault that the bus's framing cannot carry
  | 'SIM_VALUE_INVALID'; // a value the point cannot hold

export class SimulatorError extends Error {
  override readonly name = 'SimulatorError';
  constructor(
    readonly code: SimulatorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
