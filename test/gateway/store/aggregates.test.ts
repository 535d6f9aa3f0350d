import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import type { AlarmRecord } from '../../../gateway/alarms/types.js';
import type { GatewayStore } from '../../../gateway/store/event-store.js';
import { FakeClock, Stores, poll, record, tempDirs } from './helpers.js';

const dirs = tempDirs('kerbside-aggregates-');
after(dirs.cleanup);
const stores = new Stores();
afterEach(() => stores.closeAll());

type Row = [string, number, number, number, number, number, number];

function aggregates(store: GatewayStore, view: 'readings_1m_named' | 'readings_1h_named'): Row[] {
  return store.readTransaction(
    (db) =>
      db
        .prepare(
          `SELECT point_key, period_start_mono, period_start_wall, min_value, max_value, mean_value, value_count
           FROM ${view} ORDER BY point_key, period_start_mono`,
        )
        .raw()
        .all() as Row[],
  );
}

/** A clock whose store uptime equals `uptimeMs` after at(uptimeMs): the store opens at mono 1000. */
function uptimeClock(wall: number): { clock: FakeClock; at: (uptimeMs: number) => void } {
  const clock = new FakeClock(1_000, wall);
  const at = (uptimeMs: number): void => {
    clock.wall += uptimeMs + 1_000 - clock.mono;
    clock.mono = uptimeMs + 1_000;
  };
  return { clock, at };
}

describe('reading aggregates', () => {
  it('keeps min, max, mean and count per minute and per hour of numeric readings (hand-computed)', () => {
    const W0 = Date.UTC(2025, 2, 1, 8, 0, 0);
    const { clock, at } = uptimeClock(W0);
    const store = stores.openStore(dirs.fresh(), { clock });
    // p0 numeric, p1 boolean (a state: not aggregated), p2 NaN in one poll (a fault: not aggregated).
    at(0);
    store.commitCycle({ polls: [poll(clock, 'm', [10, true, 1])] });
    at(20_000);
    clock.wall -= 86_400_000; // the wall clock jumps back a day inside the minute: same period
    store.commitCycle({ polls: [poll(clock, 'm', [20, false, Number.NaN])] });
    at(59_999);
    const partial = { quality: 'partial' as const, errors: [{ code: 'MODBUS_TIMEOUT', message: 'x' }] };
    store.commitCycle({ polls: [poll(clock, 'm', [30, true, 3], partial)] });
    at(60_000);
    // Two polls of the same point in one cycle fold together.
    store.commitCycle({ polls: [poll(clock, 'm', [5]), poll(clock, 'm', [7])] });
    assert.deepEqual(aggregates(store, 'readings_1m_named'), [], 'a minute is written once it has ended');
    at(65_000);
    store.commitCycle({});
    assert.equal(aggregates(store, 'readings_1m_named').length, 2, 'minute 0 is written 5 s after its end');
    at(3_600_000);
    store.commitCycle({ polls: [poll(clock, 'm', [100])] });
    at(3_665_000);
    store.commitCycle({});

    const W1 = W0 - 86_400_000; // wall clock after the jump
    assert.deepEqual(aggregates(store, 'readings_1m_named'), [
      // point, period start (uptime), period start (wall, from the first reading), min, max, mean, count
      ['p0', 0, W0, 10, 30, 20, 3],
      ['p0', 60_000, W1 + 60_000, 5, 7, 6, 2],
      ['p0', 3_600_000, W1 + 3_600_000, 100, 100, 100, 1],
      ['p2', 0, W0, 1, 3, 2, 2],
    ]);
    assert.deepEqual(aggregates(store, 'readings_1h_named'), [
      // hour 0: 10, 20, 30, 5, 7 -> sum 72, mean 14.4
      ['p0', 0, W0, 5, 30, 14.4, 5],
      ['p0', 3_600_000, W1 + 3_600_000, 100, 100, 100, 1],
      ['p2', 0, W0, 1, 3, 2, 2],
    ]);
  });

  it('counts nothing of a cycle that rolled back', () => {
    const { clock, at } = uptimeClock(Date.UTC(2025, 0, 1));
    const store = stores.openStore(dirs.fresh(), { clock });
    at(1_000);
    store.commitCycle({ polls: [poll(clock, 'm', [10])] });
    at(2_000);
    const broken = { ...record('m:r'), state: 'exploded' } as unknown as AlarmRecord;
    assert.throws(() => store.commitCycle({ polls: [poll(clock, 'm', [1000])], alarmRecords: [broken] }));
    at(3_000);
    store.commitCycle({ polls: [poll(clock, 'm', [20])] });
    at(70_000);
    store.commitCycle({});
    assert.deepEqual(
      aggregates(store, 'readings_1m_named').map((r) => r.slice(3)),
      [[10, 20, 15, 2]],
    );
  });

  it('writes the open minute at close and merges it with the rest of that minute after a restart', () => {
    const dir = dirs.fresh();
    const { clock, at } = uptimeClock(Date.UTC(2025, 0, 1));
    const store = stores.openStore(dir, { clock });
    at(10_000);
    store.commitCycle({ polls: [poll(clock, 'm', [4])] });
    assert.equal(store.stats().openAggregateMinutes, 1);
    store.close();
    // The uptime clock resumes at 10 s: the same minute continues in the next run.
    const restarted = new FakeClock(50, clock.wall + 3_600_000);
    const again = stores.openStore(dir, { clock: restarted });
    restarted.advance(20_000);
    again.commitCycle({ polls: [poll(restarted, 'm', [8])] });
    restarted.advance(60_000);
    again.commitCycle({});
    assert.deepEqual(
      aggregates(again, 'readings_1m_named').map((r) => [r[1], ...r.slice(3)]),
      [[0, 4, 8, 6, 2]],
    );
    assert.deepEqual(
      aggregates(again, 'readings_1h_named').map((r) => [r[1], ...r.slice(3)]),
      [[0, 4, 8, 6, 2]],
    );
  });
});
