/**
 * A stream-level reader of MQTT fixed headers that sits in front of aedes, which has no maximum
 * packet size: it buffers a packet until all of its announced Remaining Length has arrived, so one
 * unauthenticated socket announcing 256 MiB could make the process hold 256 MiB. The guard reads
 * only the fixed header of each packet (MQTT 3.1.1 section 2.2: one byte of type and flags, then
 * the Remaining Length as a variable byte integer of at most four bytes, section 2.2.3), skips the
 * body without keeping it, and answers "refuse" as soon as a packet announces more than the
 * current limit, before any of its body is handed on.
 */

/** Why the guard refuses a stream; the connection is then closed (MQTT 3.1.1 section 4.8). */
export type GuardRefusal =
  /** A packet announced more bytes than the limit in force. */
  | 'packet_too_large'
  /** A Remaining Length with a continuation bit in its fourth byte (section 2.2.3: at most four bytes). */
  | 'malformed_length'
  /** More bytes arrived before authentication than any CONNECT needs. */
  | 'too_much_before_auth';

export type GuardVerdict = { ok: true } | { ok: false; reason: GuardRefusal; announced?: number };

export interface PacketGuardLimits {
  /** Largest Remaining Length accepted until markAuthenticated(). */
  beforeAuthPacketBytes: number;
  /** Total bytes accepted until markAuthenticated() (a CONNECT and little else). */
  beforeAuthTotalBytes: number;
  /** Largest Remaining Length accepted once authenticated. */
  afterAuthPacketBytes: number;
}

/** Bytes of a Remaining Length at most (MQTT 3.1.1 section 2.2.3). */
const MAX_LENGTH_BYTES = 4;

/**
 * Feed it every chunk read from one connection, in order; it keeps a few integers, never the data.
 * Once it has refused, it refuses everything after.
 */
export class PacketGuard {
  private state: 'type' | 'length' | 'body' = 'type';
  private lengthValue = 0;
  private lengthMultiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;
  private authenticated = false;
  private bytesBeforeAuth = 0;
  private refused: GuardVerdict | null = null;

  constructor(private readonly limits: PacketGuardLimits) {}

  /** Raises the packet limit to afterAuthPacketBytes and lifts the total (CONNACK 0 was sent). */
  markAuthenticated(): void {
    this.authenticated = true;
  }

  get isAuthenticated(): boolean {
    return this.authenticated;
  }

  /** Bytes fed before authentication (for tests and the bench: what the broker accepted). */
  get acceptedBeforeAuth(): number {
    return this.bytesBeforeAuth;
  }

  /** Reads `chunk`'s headers; a refusal means "close the connection, hand nothing of it on". */
  feed(chunk: Uint8Array): GuardVerdict {
    if (this.refused !== null) return this.refused;
    if (!this.authenticated) {
      this.bytesBeforeAuth += chunk.length;
      if (this.bytesBeforeAuth > this.limits.beforeAuthTotalBytes)
        return this.refuse({ ok: false, reason: 'too_much_before_auth' });
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'body') {
        const skip = Math.min(this.bodyLeft, chunk.length - at);
        this.bodyLeft -= skip;
        at += skip;
        if (this.bodyLeft === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[at] as number;
      at += 1;
      if (this.state === 'type') {
        // Type and flags (section 2.2.1/2.2.2) are aedes' to judge; only the length matters here.
        this.state = 'length';
        this.lengthValue = 0;
        this.lengthMultiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      // state 'length': seven bits of value per byte, least significant group first (section 2.2.3).
      this.lengthValue += (byte & 0x7f) * this.lengthMultiplier;
      this.lengthBytes += 1;
      if ((byte & 0x80) !== 0) {
        if (this.lengthBytes === MAX_LENGTH_BYTES)
          return this.refuse({ ok: false, reason: 'malformed_length' });
        this.lengthMultiplier *= 128;
        continue;
      }
      const limit = this.authenticated ? this.limits.afterAuthPacketBytes : this.limits.beforeAuthPacketBytes;
      if (this.lengthValue > limit)
        return this.refuse({ ok: false, reason: 'packet_too_large', announced: this.lengthValue });
      this.bodyLeft = this.lengthValue;
      this.state = this.bodyLeft === 0 ? 'type' : 'body';
    }
    return { ok: true };
  }

  private refuse(verdict: GuardVerdict): GuardVerdict {
    this.refused = verdict;
    return verdict;
  }
}
