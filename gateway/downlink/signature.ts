/**
 * The gateway's check of the cloud's signature on `down/cmd` and `down/config`
 * (docs/downlink-signing.md; cloud-sync/contract/signing.ts has the format). It runs before anything
 * else looks at a message: an unsigned or wrongly signed one is answered with a result event
 * carrying a stable `code` and is neither run nor recorded, so a forged copy published first cannot
 * take the id or version of the genuine message (which still runs when it arrives).
 *
 * Keys: those pinned at enrollment (credentials.ts, next to the CA); a verified message may
 * announce more (rotation), which are pinned in memory at once and written to the credentials file.
 *
 * Refusals are answered at most REFUSAL_REPORTS_PER_MINUTE a minute: whoever can publish on the
 * broker could otherwise fill the never-evicted priority lane of the outbox with refusal results.
 * Beyond that they are counted and logged (also throttled).
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import {
  MAX_PINNED_KEYS,
  pinnedKeyMap,
  verifyDownlink,
  type DownlinkChannel,
  type DownlinkRefusalCode,
  type DownlinkVerification,
} from '../../cloud-sync/contract/signing.js';
import { MAX_PAYLOAD_BYTES } from '../../cloud-sync/contract/schemas.js';

/** Refusals answered with a result event per minute; the rest are counted only. */
export const REFUSAL_REPORTS_PER_MINUTE = 10;

export interface DownlinkVerifierOptions {
  gatewayId: string;
  /** The pinned public keys (base64url Ed25519). Empty: every message is refused (re-enroll). */
  keys: readonly string[];
  /** Stores announced keys (credentials.ts pinDownlinkKeys); absent: pinned in memory only. */
  persist?: (keys: readonly string[]) => Promise<unknown>;
  logger: Logger;
  /** Monotonic milliseconds (tests). */
  now?: () => number;
}

/** The verdict on one payload; `message` is the parsed JSON when it could be parsed. */
export type Verdict =
  | { ok: true; message: unknown }
  | { ok: false; code: DownlinkRefusalCode; reason: string; message: unknown; report: boolean };

export class DownlinkVerifier {
  private keys: Map<string, KeyObject>;
  private readonly publicKeys: string[];
  private readonly refused = new Map<string, number>();
  private windowStartMs = -Infinity;
  private reportsInWindow = 0;
  private readonly now: () => number;
  /** Announced keys pinned in memory but not yet written to the credentials file. */
  private unsaved: string[] = [];
  private saving = false;

  constructor(private readonly options: DownlinkVerifierOptions) {
    this.publicKeys = [...options.keys];
    this.keys = pinnedKeyMap(this.publicKeys);
    this.now = options.now ?? (() => performance.now());
    if (this.keys.size !== this.publicKeys.length)
      options.logger.error('a pinned downlink key is not a valid Ed25519 key; it verifies nothing');
  }

  /** Ids of the pinned keys. */
  pinnedKeyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** Refusals by code (Prometheus-style counters; also in the log). */
  stats(): Record<string, number> {
    return Object.fromEntries(this.refused);
  }

  /** Parses and checks one payload. Never throws. */
  check(channel: DownlinkChannel, payload: Buffer | string): Verdict {
    let message: unknown = null;
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
    if (size <= MAX_PAYLOAD_BYTES) {
      try {
        message = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
      } catch {
        message = null;
      }
    }
    const result: DownlinkVerification = verifyDownlink(this.keys, channel, this.options.gatewayId, message);
    if (result.ok) {
      if (result.announce.length > 0) this.pin(result.announce, result.keyId);
      // Also retries a write that failed before: a key pinned in memory only would be forgotten at
      // the next restart, and the cloud announces it no more once it signs with it.
      this.saveUnsaved();
      return { ok: true, message };
    }
    this.refused.set(result.code, (this.refused.get(result.code) ?? 0) + 1);
    const report = this.mayReport();
    if (report)
      this.options.logger.warn(
        { channel, code: result.code },
        `refused a ${channel} message: ${result.message}`,
      );
    return { ok: false, code: result.code, reason: result.message, message, report };
  }

  private mayReport(): boolean {
    const now = this.now();
    if (now - this.windowStartMs >= 60_000) {
      if (this.reportsInWindow >= REFUSAL_REPORTS_PER_MINUTE) {
        this.options.logger.warn(
          { refused: this.stats() },
          'more refused downlink messages than reported in the last minute (see the counts)',
        );
      }
      this.windowStartMs = now;
      this.reportsInWindow = 0;
    }
    this.reportsInWindow += 1;
    return this.reportsInWindow <= REFUSAL_REPORTS_PER_MINUTE;
  }

  /** Pins announced keys (rotation): in memory now, in the credentials file in the background. */
  private pin(announced: readonly string[], by: string): void {
    const fresh = announced.filter((k) => !this.publicKeys.includes(k));
    if (fresh.length === 0) return;
    const room = MAX_PINNED_KEYS - this.publicKeys.length;
    if (room < fresh.length) {
      this.options.logger.warn(
        { pinned: this.pinnedKeyIds(), announced: fresh.length },
        `no room to pin every announced downlink key (at most ${MAX_PINNED_KEYS}): enroll again to start from the cloud's current keys`,
      );
    }
    const added = fresh.slice(0, Math.max(0, room));
    if (added.length === 0) return;
    this.publicKeys.push(...added);
    this.keys = pinnedKeyMap(this.publicKeys);
    this.options.logger.info(
      { announcedBy: by, pinned: this.pinnedKeyIds() },
      'pinned downlink key(s) announced by the cloud',
    );
    this.unsaved.push(...added);
  }

  /** Writes the keys pinned in memory only to the credentials file, one write at a time. */
  private saveUnsaved(): void {
    const persist = this.options.persist;
    if (persist === undefined || this.saving || this.unsaved.length === 0) return;
    const batch = [...this.unsaved];
    this.saving = true;
    persist(batch)
      .then(() => {
        this.unsaved = this.unsaved.filter((key) => !batch.includes(key));
      })
      .catch((error: unknown) =>
        this.options.logger.error(
          { err: { message: error instanceof Error ? error.message : String(error) } },
          'announced downlink key not written to the credentials file yet; retried with the next verified message',
        ),
      )
      .finally(() => {
        this.saving = false;
      });
  }
}
