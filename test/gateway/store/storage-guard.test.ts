/**
 * The storage state machine (gateway/store/storage-guard.ts) against a fake file system whose free
 * space the test sets: the reserve is written at start, released once on a full disk, written back
 * only past the resume level (hysteresis: no fill-release loop), and the state says why.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StorageGuard, type StorageIo } from '../../../gateway/store/storage-guard.js';

const MIB = 1024 * 1024;

/** A disk of `total` bytes holding `used` bytes of other files plus the reserve when written. */
class FakeDisk implements StorageIo {
  readonly files = new Map<string, number>();
  writes = 0;

  constructor(
    private readonly total: number,
    public used: number,
  ) {}

  freeBytes(): number {
    let taken = this.used;
    for (const size of this.files.values()) taken += size;
    return Math.max(0, this.total - taken);
  }

  hasFile(file: string, bytes: number): boolean {
    return (this.files.get(file) ?? 0) >= bytes;
  }

  writeFile(file: string, bytes: number): void {
    this.writes++;
    if (this.freeBytes() < bytes) throw new Error('ENOSPC: no space left on device');
    this.files.set(file, bytes);
  }

  removeFile(file: string): void {
    if (!this.files.delete(file)) throw new Error('ENOENT');
  }
}

function guardOn(disk: FakeDisk): StorageGuard {
  return new StorageGuard({
    dir: '/data',
    io: disk,
    reserveBytes: MIB,
    lowBytes: 2 * MIB,
    resumeBytes: 6 * MIB,
  });
}

describe('StorageGuard', () => {
  it('writes the reserve at start and is ok while there is room', () => {
    const disk = new FakeDisk(32 * MIB, 4 * MIB);
    const guard = guardOn(disk);
    guard.start();
    assert.equal(disk.hasFile(guard.reserveFile, MIB), true);
    assert.deepEqual(guard.state(), { state: 'ok', freeBytes: 27 * MIB, reserveHeld: true, reason: null });
  });

  it('low when free space falls below lowBytes: decisions only, with the reason in words', () => {
    const disk = new FakeDisk(32 * MIB, 4 * MIB);
    const guard = guardOn(disk);
    guard.start();
    disk.used = 29.5 * MIB; // 1.5 MiB free, below 2 MiB
    const state = guard.check();
    assert.equal(state.state, 'low');
    assert.match(state.reason ?? '', /only 1\.5 MiB free/);
  });

  it('a full disk releases the reserve once; the next release has nothing to give', () => {
    const disk = new FakeDisk(32 * MIB, 4 * MIB);
    const guard = guardOn(disk);
    guard.start();
    disk.used = 31 * MIB; // everything but the reserve taken
    assert.equal(guard.onDiskFull('SQLITE_FULL'), true, 'the reserve was released: try again');
    assert.equal(disk.hasFile(guard.reserveFile, 1), false);
    assert.equal(guard.state().state, 'full');
    assert.equal(guard.onDiskFull('SQLITE_FULL'), false, 'nothing more to release');
  });

  it('hysteresis: a little freed space keeps decisions only and the reserve away; enough brings both back', () => {
    const disk = new FakeDisk(32 * MIB, 4 * MIB);
    const guard = guardOn(disk);
    guard.start();
    disk.used = 31 * MIB;
    guard.onDiskFull('SQLITE_FULL');
    const writesBefore = disk.writes;

    disk.used = 28 * MIB; // 4 MiB free: above low, below resume (6 MiB)
    for (let i = 0; i < 10; i++) assert.notEqual(guard.check().state, 'ok');
    assert.equal(disk.writes, writesBefore, 'no reserve written back below the resume level');

    disk.used = 25 * MIB; // 7 MiB free
    const state = guard.check();
    assert.equal(state.state, 'ok');
    assert.equal(state.reserveHeld, true);
    assert.equal(disk.hasFile(guard.reserveFile, MIB), true);
  });

  it('a reserve that cannot be written leaves no partial file and says full', () => {
    const disk = new FakeDisk(32 * MIB, 4 * MIB);
    const guard = guardOn(disk);
    disk.writeFile = () => {
      throw new Error('ENOSPC: no space left on device');
    };
    const state = guard.check();
    assert.equal(state.state, 'full');
    assert.match(state.reason ?? '', /reserve could not be written/);
    assert.equal(disk.files.size, 0);
  });

  it('a reserve left by the previous run counts as held', () => {
    const disk = new FakeDisk(32 * MIB, 4 * MIB);
    disk.files.set('/data/kerbside.reserve', MIB);
    const guard = guardOn(disk);
    const writes = disk.writes;
    guard.start();
    assert.equal(guard.state().reserveHeld, true);
    assert.equal(disk.writes, writes);
  });
});
