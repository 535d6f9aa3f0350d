import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { StoreQuarantinedEvent } from '../../../cloud-sync/contract/events.js';
import { isStoreError } from '../../../gateway/store/errors.js';
import { GATEWAY_DB_FILE } from '../../../gateway/store/event-store.js';
import { FakeClock, Stores, poll, tempDirs, transition } from './helpers.js';

const dirs = tempDirs('kerbside-quarantine-');
after(dirs.cleanup);
const stores = new Stores();
afterEach(() => stores.closeAll());

/** A database with some history, closed; returns its epoch. */
function populated(dir: string, clock: FakeClock): string {
  const store = stores.openStore(dir, { clock });
  for (let i = 0; i < 200; i++) {
    clock.advance(500);
    store.commitCycle({
      polls: [
        poll(
          clock,
          'd',
          Array.from({ length: 50 }, (_, j) => i + j),
        ),
      ],
      events: [transition('d:r')],
    });
  }
  store.acknowledgeUpTo('priority', 150);
  const epoch = store.epoch;
  store.close();
  return epoch;
}

describe('quarantine of a damaged database', () => {
  it('moves a file of garbage aside, starts fresh with a new epoch and reports it as the first event', () => {
    const dir = dirs.fresh();
    const clock = new FakeClock(1_000, Date.UTC(2025, 4, 6, 7, 8, 9));
    const path = join(dir, GATEWAY_DB_FILE);
    const old = stores.openStore(dir, { clock });
    const oldEpoch = old.epoch;
    old.close();
    const garbage = Buffer.from(
      'this is not an SQLite database, it is what a dying SD card returns '.repeat(300),
    );
    writeFileSync(path, garbage);

    const store = stores.openStore(dir, { clock });
    const aside = join(dir, 'kerbside.db.corrupt-20250506T070809Z');
    assert.ok(store.quarantine, 'the store says it quarantined');
    assert.equal(store.quarantine.file, path);
    assert.equal(store.quarantine.quarantinedAs, aside);
    assert.equal(store.quarantine.lostEpoch, null, 'garbage has no readable epoch');
    assert.match(store.quarantine.inspectError ?? '', /not a database/);
    assert.deepEqual(readFileSync(aside), garbage, 'the damaged file is kept as it was');
    assert.notEqual(store.epoch, oldEpoch, 'a replaced database is a new epoch');
    assert.match(store.epoch, /^[0-9a-f-]{36}$/);

    const [first, ...rest] = store.outboxAfter(0, 10);
    assert.equal(rest.length, 0);
    assert.equal(first?.seq, 1);
    assert.equal(first?.kind, 'store_quarantined');
    const event = first as unknown as StoreQuarantinedEvent;
    assert.equal(event.file, path);
    assert.equal(event.quarantinedAs, aside);
    assert.match(event.reason, /not a database/);
    assert.equal(
      store.outboxStats().byClass.alarm.count,
      1,
      'store_quarantined is alarm class: never evicted',
    );

    // The fresh database works and is trusted at the next start.
    store.commitCycle({ polls: [poll(clock, 'd', [1])], events: [transition('d:r')] });
    store.close();
    const reopened = stores.openStore(dir, { clock });
    assert.equal(reopened.quarantine, null);
    assert.equal(reopened.epoch, store.epoch);
  });

  it('reports the lost epoch and unacknowledged range when the damaged file still answers', () => {
    const dir = dirs.fresh();
    const clock = new FakeClock();
    const oldEpoch = populated(dir, clock);
    const path = join(dir, GATEWAY_DB_FILE);
    // Overwrite four pages near the end (readings data): the header and store_meta survive.
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(4 * 4096, 0xa5), 0, 4 * 4096, size - 10 * 4096);
    closeSync(fd);

    const store = stores.openStore(dir, { clock });
    assert.ok(store.quarantine);
    assert.match(store.quarantine.reason, /malformed|quick_check/);
    assert.equal(store.quarantine.lostEpoch, oldEpoch);
    assert.deepEqual(store.quarantine.lostLanes, [
      { lane: 'priority', lastSeq: 200, ackedSeq: 150 },
      { lane: 'telemetry', lastSeq: 0, ackedSeq: 0 },
    ]);
    const event = store.outboxAfter(0, 1)[0] as unknown as StoreQuarantinedEvent;
    assert.match(
      event.reason,
      new RegExp(
        `epoch ${oldEpoch}: priority lane: unacknowledged events 151\\.\\.200 are lost; ` +
          'telemetry lane: every event had been acknowledged',
      ),
    );
    assert.equal(existsSync(store.quarantine.quarantinedAs), true);
  });

  it('treats a database without an epoch as not its own: quarantined, never reused with new seqs', () => {
    const dir = dirs.fresh();
    const first = stores.openStore(dir);
    first.commitCycle({ events: [transition('d:r')] });
    first.close();
    const raw = new Database(join(dir, GATEWAY_DB_FILE));
    raw.exec("DELETE FROM store_meta WHERE key = 'epoch'");
    raw.close();
    const store = stores.openStore(dir);
    assert.match(store.quarantine?.reason ?? '', /has no epoch/);
    assert.equal(store.outboxAfter(0, 10)[0]?.kind, 'store_quarantined');
  });

  it('keeps only the newest quarantined copies', () => {
    const dir = dirs.fresh();
    const clock = new FakeClock();
    stores.openStore(dir, { clock }).close();
    for (let minute = 1; minute <= 4; minute++) {
      writeFileSync(join(dir, GATEWAY_DB_FILE), `garbage ${minute} `.repeat(1000));
      clock.advance(60_000);
      stores.openStore(dir, { clock, keepQuarantinedCopies: 2 }).close();
    }
    const copies = readdirSync(dir)
      .filter((f) => f.startsWith('kerbside.db.corrupt-'))
      .map((f) => f.replace(/-(wal|shm)$/, ''));
    assert.deepEqual([...new Set(copies)].sort(), [
      'kerbside.db.corrupt-20250101T000300Z',
      'kerbside.db.corrupt-20250101T000400Z',
    ]);
    assert.match(readFileSync(join(dir, 'kerbside.db.corrupt-20250101T000400Z'), 'utf8'), /^garbage 4 /);
  });

  it('does not quarantine a database written by newer code or one it cannot configure: it refuses to run', () => {
    const dir = dirs.fresh();
    stores.openStore(dir).close();
    const path = join(dir, GATEWAY_DB_FILE);
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    assert.throws(
      () => stores.openStore(dir),
      (error: unknown) => isStoreError(error, 'STORE_TOO_NEW'),
    );
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('corrupt')),
      [],
    );

    const other = dirs.fresh();
    stores.openStore(other).close();
    // SQLite silently stores 0 (off) for a negative wal_autocheckpoint: the read-back catches it.
    assert.throws(
      () => stores.openStore(other, { walAutocheckpointPages: -3 }),
      (error: unknown) =>
        isStoreError(error, 'STORE_MISCONFIGURED') && /wal_autocheckpoint is 0/.test(error.message),
    );
    assert.deepEqual(
      readdirSync(other).filter((f) => f.includes('corrupt')),
      [],
    );
  });
});
