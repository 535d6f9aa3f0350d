/**
 * Storage trouble as a first-class state (issue 10, docs/storage.md "A full disk"). A cabinet's
 * data folder can fill up (a log gone wild, a small SD card, a ballast file in the test), and then
 * every SQLite write fails with SQLITE_FULL. The gateway must still record what it decides: alarm
 * transitions, the storage alarm itself, the cloud's acknowledgements. Three things make that so:
 *
 *  1. A reserve: a file of `reserveBytes` written in the data folder at start. When a write fails
 *     for want of space the reserve is deleted, which frees exactly that much, and the write is
 *     tried again: decisions are small, and the reserve holds thousands of them.
 *  2. A state, `ok`, `low` or `full`, read from the free space of the data folder (statfs) and
 *     from write failures. Anything but `ok` means "decisions only": readings and telemetry are
 *     dropped first (counted, and telemetry reported by a gap record), so the database stops
 *     growing and freed space is not eaten again at once.
 *  3. Hysteresis: the reserve is written again, and `ok` returns, only when the free space is at
 *     least `resumeBytes`, well above what the reserve takes, so a little freed space never
 *     starts a fill-release loop.
 *
 * The state machine (StorageGuard) is apart from the file system (StorageIo), so it is tested
 * with a fake one; the real one is used by the disk-full tests on a small tmpfs.
 */
import { closeSync, openSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export type StorageStateName = 'ok' | 'low' | 'full';

export interface StorageState {
  state: StorageStateName;
  /** Free bytes in the data folder at the last check; null when statfs could not say. */
  freeBytes: number | null;
  /** Whether the reserve file is in place (false: spent, or not yet written back). */
  reserveHeld: boolean;
  /** Why it is not `ok`, in words; null when it is. */
  reason: string | null;
}

/** The file-system operations the guard needs; the real ones below, a fake in unit tests. */
export interface StorageIo {
  /** Free bytes available to this process in `dir`, or null when unknown. */
  freeBytes(dir: string): number | null;
  /** Whether `file` exists with at least `bytes`. */
  hasFile(file: string, bytes: number): boolean;
  /** Writes `file` with `bytes` zero bytes (really allocated); throws when space runs out. */
  writeFile(file: string, bytes: number): void;
  removeFile(file: string): void;
}

export interface StorageGuardOptions {
  dir: string;
  /** Size of the reserve; default DEFAULT_RESERVE_BYTES. 0 disables the reserve. */
  reserveBytes?: number;
  /** Below this much free space the state is `low`; default 2 x reserve + 1 MiB. */
  lowBytes?: number;
  /** From this much free space on, `full`/`low` end and the reserve is written again; default 4 x reserve + 2 MiB. */
  resumeBytes?: number;
  io?: StorageIo;
}

/** Enough for thousands of alarm transitions and acknowledgements, small beside any real disk. */
export const DEFAULT_RESERVE_BYTES = 2 * 1024 * 1024;
const MIB = 1024 * 1024;

export const RESERVE_FILE = 'kerbside.reserve';

export class StorageGuard {
  readonly reserveFile: string;
  private readonly reserveBytes: number;
  private readonly lowBytes: number;
  private readonly resumeBytes: number;
  private readonly io: StorageIo;
  private full = false;
  private fullReason: string | null = null;
  private lastFree: number | null = null;
  private reserveHeld = false;

  constructor(private readonly options: StorageGuardOptions) {
    this.reserveBytes = options.reserveBytes ?? DEFAULT_RESERVE_BYTES;
    this.lowBytes = options.lowBytes ?? 2 * this.reserveBytes + MIB;
    this.resumeBytes = options.resumeBytes ?? 4 * this.reserveBytes + 2 * MIB;
    this.io = options.io ?? realIo;
    this.reserveFile = join(options.dir, RESERVE_FILE);
  }

  /** At open: write the reserve if there is room for it (else the state says why). */
  start(): void {
    this.check();
  }

  /**
   * A write failed for want of space: the state is `full` until the free space reaches
   * resumeBytes. Returns true when the reserve was released by this call, i.e. when trying the
   * write again may now succeed.
   */
  onDiskFull(reason: string): boolean {
    this.full = true;
    this.fullReason = reason;
    return this.releaseReserve();
  }

  /**
   * Reads the free space and moves the state: `full` and `low` end at resumeBytes, where the
   * reserve is written back. Cheap enough for every pipeline cycle (one statfs).
   */
  check(): StorageState {
    const free = this.io.freeBytes(this.options.dir);
    this.lastFree = free;
    if (this.reserveBytes > 0 && !this.reserveHeld) {
      // A reserve left by the previous run counts as held.
      if (this.io.hasFile(this.reserveFile, this.reserveBytes)) this.reserveHeld = true;
    }
    if (free !== null && free >= this.resumeBytes) {
      this.full = false;
      this.fullReason = null;
      if (this.reserveBytes > 0 && !this.reserveHeld) {
        this.writeReserve();
        this.lastFree = this.io.freeBytes(this.options.dir);
      }
    }
    return this.state();
  }

  state(): StorageState {
    const free = this.lastFree;
    if (this.full) {
      return {
        state: 'full',
        freeBytes: free,
        reserveHeld: this.reserveHeld,
        reason: `the data folder is full (${this.fullReason ?? 'no space left'}); only decisions are stored until ${mib(this.resumeBytes)} are free`,
      };
    }
    if (free !== null && free < this.lowBytes) {
      return {
        state: 'low',
        freeBytes: free,
        reserveHeld: this.reserveHeld,
        reason: `only ${mib(free)} free in the data folder (below ${mib(this.lowBytes)}); readings and telemetry are dropped until ${mib(this.resumeBytes)} are free`,
      };
    }
    if (!this.reserveHeld && this.reserveBytes > 0 && free !== null && free < this.resumeBytes) {
      // Between low and resume after a full disk: still decisions only, so the reserve can come back.
      return {
        state: 'low',
        freeBytes: free,
        reserveHeld: false,
        reason: `the storage reserve is spent and only ${mib(free)} are free; readings and telemetry are dropped until ${mib(this.resumeBytes)} are free`,
      };
    }
    return { state: 'ok', freeBytes: free, reserveHeld: this.reserveHeld, reason: null };
  }

  private releaseReserve(): boolean {
    if (!this.reserveHeld) return false;
    try {
      this.io.removeFile(this.reserveFile);
    } catch {
      // Already gone (someone removed it): nothing was freed by us, but nothing is held either.
      this.reserveHeld = false;
      return false;
    }
    this.reserveHeld = false;
    return true;
  }

  private writeReserve(): void {
    try {
      this.io.writeFile(this.reserveFile, this.reserveBytes);
      this.reserveHeld = true;
    } catch (error) {
      // No room after all (another writer took it): a partial reserve is worse than none.
      try {
        this.io.removeFile(this.reserveFile);
      } catch {
        // It was never created.
      }
      this.full = true;
      this.fullReason = `the storage reserve could not be written: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

const CHUNK = Buffer.alloc(64 * 1024);

/** The real file system: statfs for free space, zeros written chunk by chunk for the reserve. */
export const realIo: StorageIo = {
  freeBytes(dir) {
    try {
      const stats = statfsSync(dir);
      return Number(stats.bavail) * Number(stats.bsize);
    } catch {
      return null;
    }
  },
  hasFile(file, bytes) {
    try {
      return statSync(file).size >= bytes;
    } catch {
      return false;
    }
  },
  writeFile(file, bytes) {
    // Zeros really written (not a sparse truncate): the blocks must be taken now, to be given
    // back when the disk fills.
    const fd = openSync(file, 'w', 0o600);
    try {
      for (let written = 0; written < bytes;) {
        const n = Math.min(CHUNK.length, bytes - written);
        written += writeSync(fd, CHUNK, 0, n);
      }
    } finally {
      closeSync(fd);
    }
  },
  removeFile(file) {
    rmSync(file);
  },
};
