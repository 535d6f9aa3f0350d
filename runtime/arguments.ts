/**
 * Command-line parsing for every Kerbside entry point that uses commander with `exitOverride()`.
 *
 * With exitOverride, commander prints the problem (or the help or version text) itself and then
 * throws a CommanderError instead of exiting, so the entry point can return its own exit code
 * through `exitWith` (signals.ts). Its `exitCode` is 0 for --help and --version and 1 for every
 * usage error; each entry point maps those to its own codes.
 *
 * This module imports nothing of ours (eslint.config.js), like signals.ts.
 */
import { CommanderError } from 'commander';

/** The two exit codes a command line can end in before the program runs. */
export interface ArgumentExitCodes {
  /** --help or --version was asked for and printed. */
  ok: number;
  /** The command line was invalid (commander has printed why). */
  invalid: number;
}

/**
 * Runs `parse` (which calls commander's `parse`). Returns the options it returns, or, when
 * commander stopped the parse, the exit code to end with: `codes.ok` for help and version,
 * `codes.invalid` for a usage error. Any other error is a bug and is thrown.
 */
export function parseArguments<Options extends object>(
  parse: () => Options,
  codes: ArgumentExitCodes,
): Options | number {
  try {
    return parse();
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? codes.ok : codes.invalid;
    throw error;
  }
}
