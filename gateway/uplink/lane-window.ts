/**
 * The send window of one uplink lane (docs/uplink.md): which batches are in flight, where the
 * next batch starts, and what an ack means. Pure bookkeeping, no I/O, so every rule is tested
 * without a broker.
 *
 * docs/uplink-contract.md, delivery rules 2 to 4, per lane (docs/uplink-lanes.md):
 * - A batch holds every event the outbox has in (after, last] at the time it is read, so the
 *   cloud may advance lastCommitted to `last` (holes inside are evicted telemetry).
 * - The first batch after a (re)connect says after = the acknowledged mark. With several batches
 *   in flight, each next batch says after = the previous batch's last seq: the cloud accepts it
 *   only once that previous batch is committed (after <= lastCommitted), so a lost batch can
 *   never be skipped over. A refused batch is answered with the cloud's lastCommitted, and the
 *   window goes back and resends from there.
 * - Only an ack deletes anything (rule 4); the store refuses an ack above the last assigned seq.
 */

export interface InFlightBatch {
  after: number;
  last: number;
  count: number;
  sentAtMs: number;
}

export type AckOutcome =
  /** upTo moved the acknowledged mark: delete up to it; the window slid. */
  | { kind: 'progress'; upTo: number }
  /** upTo equals the mark while batches are in flight: the cloud refused one (or a repeat). */
  | { kind: 'no_progress'; upTo: number }
  /**
   * Below the mark, or nothing in flight: old news. The cloud's lastCommitted never goes back, so
   * an ack below what we already hold was overtaken (two instances on a shared subscription ack
   * out of order); acting on it would resend for nothing.
   */
  | { kind: 'repeat'; upTo: number };

export class LaneWindow {
  private acked: number;
  /** Highest seq put into a batch since the last reset. */
  private sentUpTo: number;
  private readonly inFlight: InFlightBatch[] = [];

  constructor(
    ackedSeq: number,
    private readonly maxInFlight: number,
  ) {
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be an integer >= 1, got ${maxInFlight}`);
    }
    this.acked = ackedSeq;
    this.sentUpTo = ackedSeq;
  }

  get ackedSeq(): number {
    return this.acked;
  }

  /** The `after` of the next batch: events above it are not in flight yet. */
  get nextAfter(): number {
    return this.sentUpTo;
  }

  get inFlightCount(): number {
    return this.inFlight.length;
  }

  get inFlightEvents(): number {
    return this.inFlight.reduce((sum, batch) => sum + batch.count, 0);
  }

  canSend(): boolean {
    return this.inFlight.length < this.maxInFlight;
  }

  /** Records a batch just published; `last` is its highest seq. */
  sent(batch: { after: number; last: number; count: number }, nowMs: number): void {
    if (batch.after !== this.sentUpTo || batch.last <= batch.after) {
      throw new RangeError(
        `batch (${batch.after}, ${batch.last}] does not continue the window at ${this.sentUpTo}`,
      );
    }
    this.inFlight.push({ ...batch, sentAtMs: nowMs });
    this.sentUpTo = batch.last;
  }

  /**
   * An ack for this lane arrived. Progress slides the window past every batch it covers. A batch
   * can be partly covered only when the cloud had committed some of it before (a resend); its
   * rest is then re-read from the outbox after the new mark, so the window restarts there.
   */
  acknowledged(upTo: number): AckOutcome {
    if (upTo > this.acked) {
      this.acked = upTo;
      while (this.inFlight.length > 0 && (this.inFlight[0]?.last ?? Infinity) <= upTo) this.inFlight.shift();
      const first = this.inFlight[0];
      if (first !== undefined && first.after < upTo) {
        // The ack landed inside a batch: resend the rest after the mark instead of guessing.
        this.goBack();
      }
      if (this.sentUpTo < upTo) this.sentUpTo = upTo;
      return { kind: 'progress', upTo };
    }
    return this.inFlight.length > 0 && upTo === this.acked
      ? { kind: 'no_progress', upTo }
      : { kind: 'repeat', upTo };
  }

  /** Forgets what is in flight and resends from the acknowledged mark (refusal, timeout, reconnect). */
  goBack(): void {
    this.inFlight.length = 0;
    this.sentUpTo = this.acked;
  }

  /** The oldest in-flight batch has waited longer than `timeoutMs` for its ack. */
  timedOut(nowMs: number, timeoutMs: number): boolean {
    const oldest = this.inFlight[0];
    return oldest !== undefined && nowMs - oldest.sentAtMs > timeoutMs;
  }
}
