/**
 * Errors of the contract area (ARCHITECTURE.md, "Invariants": one error class per area with a
 * stable code). Bad input from the wire is never thrown: the parse functions return it as a result,
 * because a malformed message from a peer is expected and must not crash a broker hook or the
 * uplink. ContractError is only for programmer misuse, such as building a topic for an invalid
 * gateway id.
 */

export type ContractErrorCode = 'CONTRACT_INVALID';

export class ContractError extends Error {
  override readonly name = 'ContractError';
  readonly code: ContractErrorCode;

  constructor(code: ContractErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
