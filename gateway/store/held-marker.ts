/**
 * A note that survives a crash while the disk is full (issue 10, docs/storage.md "A full disk"):
 * while decided cycles wait in memory for a commit, this small file says since when and how many
 * events wait. If the process dies then, the next start finds it and reports upstream that the
 * priority lane's decisions of that interval may be missing (a gap event), instead of silence.
 *
 * The file is written once at start, at its full size, and afterwards only overwritten in place:
 * an overwrite of existing blocks needs no new space, so it works on a full disk, where SQLite
 * cannot write anything.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const HELD_MARKER_FILE = 'held-decisions.marker';
const SIZE = 512;

export interface HeldNote {
  /** Wall time of the oldest decision waiting. */
  sinceWallMs: number;
  /** Wall time of the newest note. */
  untilWallMs: number;
  /** Events waiting (alarm transitions and the other decisions). */
  events: number;
}

export class HeldMarker {
  readonly file: string;
  private fd: number | null = null;
  private noted = false;

  constructor(dir: string) {
    this.file = join(dir, HELD_MARKER_FILE);
  }

  /**
   * What the previous run left (null: nothing was waiting when it ended), then a cleared file of
   * full size for this run. Throws when the file cannot be written (a full disk at start: the
   * caller goes on without the marker and says so).
   */
  open(): HeldNote | null {
    const left = readNote(this.file);
    this.fd = openSync(this.file, 'w', 0o600);
    this.overwrite(null);
    return left;
  }

  /** Events are waiting: overwrite the note (in place, no new space needed). */
  note(note: HeldNote): void {
    this.overwrite(note);
    this.noted = true;
  }

  /** Nothing waits any more. */
  clear(): void {
    if (!this.noted) return;
    this.overwrite(null);
    this.noted = false;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private overwrite(note: HeldNote | null): void {
    if (this.fd === null) return;
    const buffer = Buffer.alloc(SIZE, 0x20);
    buffer.write(JSON.stringify(note), 0, 'utf8');
    writeSync(this.fd, buffer, 0, SIZE, 0);
  }
}

function readNote(file: string): HeldNote | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    // No file: a first start, or a run that never had a marker.
    return null;
  }
  try {
    const value = JSON.parse(text) as Partial<HeldNote> | null;
    if (
      value !== null &&
      typeof value.sinceWallMs === 'number' &&
      typeof value.untilWallMs === 'number' &&
      typeof value.events === 'number'
    ) {
      return { sinceWallMs: value.sinceWallMs, untilWallMs: value.untilWallMs, events: value.events };
    }
    return null;
  } catch {
    // A torn write: something was being noted, the numbers are unknown.
    return { sinceWallMs: Date.now(), untilWallMs: Date.now(), events: 0 };
  }
}
