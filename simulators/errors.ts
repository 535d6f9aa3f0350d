/**
 * The simulators' errors, with a stable code from the area's catalogue (ARCHITECTURE.md,
 * "Invariants"; listed in docs/errors.md), so the CLI can tell a user's mistake (exit code 2) from
 * a crash.
 */
import { errorClass, type ErrorCatalogue } from '../cloud-sync/contract/errors.js';

export const SIMULATOR_ERRORS = {
  SIM_CONFIG_INVALID: { means: 'A bad CLI argument or simulation config.' },
  SIM_PROFILE_NOT_FOUND: { means: 'No profile with that id.' },
  SIM_POINT_MISSING: { means: 'A point key the caller or a scenario needs is not in the profile.' },
  SIM_SCENARIO_UNKNOWN: { means: "No such scenario for the device's family." },
  SIM_FAULT_INVALID: { means: "A bad fault spec, or a fault that the bus's framing cannot carry." },
  SIM_VALUE_INVALID: { means: 'A value the point cannot hold.' },
} as const satisfies ErrorCatalogue<string>;

export type SimulatorErrorCode = keyof typeof SIMULATOR_ERRORS;

export class SimulatorError extends errorClass('SimulatorError', SIMULATOR_ERRORS) {}
