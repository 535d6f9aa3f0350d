/**
 * How many MQTT connections the embedded broker holds: at most `perAddress` from one source
 * address and `total` in all. Checked when the TCP (or TLS) connection is accepted, before a byte
 * is read, so one host cannot take every file descriptor and every parser the process has.
 */

/**
 * Connections from one address. A cabinet holds one; several cabinets behind one carrier NAT share
 * an address, so this is well above one, yet far below what exhausts the process.
 */
export const MAX_CONNECTIONS_PER_ADDRESS = 100;
/** Connections in all: the fleet this process is sized for, with room for reconnect overlaps. */
export const MAX_CONNECTIONS_TOTAL = 10_000;

export class ConnectionLimits {
  private readonly perAddress = new Map<string, number>();
  private totalCount = 0;

  constructor(
    private readonly limits: { perAddress: number; total: number } = {
      perAddress: MAX_CONNECTIONS_PER_ADDRESS,
      total: MAX_CONNECTIONS_TOTAL,
    },
  ) {}

  get total(): number {
    return this.totalCount;
  }

  /** Takes a place for a connection from `address`; null when admitted, else why not. */
  admit(address: string): 'per_address_limit' | 'total_limit' | null {
    if (this.totalCount >= this.limits.total) return 'total_limit';
    const current = this.perAddress.get(address) ?? 0;
    if (current >= this.limits.perAddress) return 'per_address_limit';
    this.perAddress.set(address, current + 1);
    this.totalCount += 1;
    return null;
  }

  /** Gives back the place of a connection admitted from `address` (once per admit). */
  release(address: string): void {
    const current = this.perAddress.get(address) ?? 0;
    if (current <= 1) this.perAddress.delete(address);
    else this.perAddress.set(address, current - 1);
    this.totalCount = Math.max(0, this.totalCount - 1);
  }
}
