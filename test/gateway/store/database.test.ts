import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase } from '../../../gateway/store/database.js';
import { StoreError, isStoreError } from '../../../gateway/store/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'kerbside-db-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const freshPath = (): string => join(tmp, `db-${++counter}.db`);

function expectStoreError(fn: () => unknown, code: StoreError['code'], pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isStoreError(error), `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

describe('openDatabase', () => {
  it('sets WAL, the asked synchronous level, foreign keys, busy timeout and WAL size limit (read back)', () => {
    for (const [synchronous, code] of [
      ['NORMAL', 1],
      ['FULL', 2],
    ] as const) {
      const db = openDatabase(freshPath(), {
        synchronous,
        busyTimeoutMs: 1234,
        journalSizeLimitBytes: 1 << 20,
      });
      try {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
        assert.equal(db.pragma('synchronous', { simple: true }), code, synchronous);
        assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
        assert.equal(db.pragma('busy_timeout', { simple: true }), 1234);
        assert.equal(db.pragma('journal_size_limit', { simple: true }), 1 << 20);
      } finally {
        db.close();
      }
    }
  });

  it('keeps WAL mode on reopen', () => {
    const path = freshPath();
    openDatabase(path, { synchronous: 'FULL' }).close();
    // A plain connection sees the mode persisted in the file header.
    const plain = new Database(path);
    assert.equal(plain.pragma('journal_mode', { simple: true }), 'wal');
    plain.close();
  });

  it('refuses a database that cannot run in WAL mode (STORE_MISCONFIGURED)', () => {
    // An in-memory database answers journal_mode=WAL with 'memory': exactly the silent refusal
    // the read-back exists to catch.
    expectStoreError(
      () => openDatabase(':memory:', { synchronous: 'FULL' }),
      'STORE_MISCONFIGURED',
      /journal_mode is memory, expected wal/,
    );
  });

  it('refuses a file that is not a database (STORE_CORRUPT)', () => {
    const path = freshPath();
    writeFileSync(path, Buffer.alloc(8192, 'this is not a database '));
    expectStoreError(() => openDatabase(path, { synchronous: 'NORMAL' }), 'STORE_CORRUPT');
  });

  it('refuses a database whose pages are damaged (STORE_CORRUPT from quick_check)', () => {
    const path = freshPath();
    const db = openDatabase(path, { synchronous: 'NORMAL' });
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT); CREATE INDEX t_payload ON t (payload);');
    const insert = db.prepare('INSERT INTO t (payload) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(`row ${i} ${'x'.repeat(50)}`);
    })();
    db.close(); // checkpoints the WAL into the main file
    const pageSize = 4096;
    // Scribble over a few b-tree pages in the middle of the file (not page 1, the header).
    const fd = openSync(path, 'r+');
    for (const page of [3, 7, 11])
      writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (page - 1) * pageSize);
    closeSync(fd);
    expectStoreError(
      () => openDatabase(path, { synchronous: 'NORMAL' }),
      'STORE_CORRUPT',
      /quick_check|malformed|damaged/,
    );
  });

  it('reports a path that cannot be opened (STORE_OPEN_FAILED)', () => {
    expectStoreError(
      () => openDatabase(join(tmp, 'no-such-dir', 'x.db'), { synchronous: 'NORMAL' }),
      'STORE_OPEN_FAILED',
    );
  });
});
