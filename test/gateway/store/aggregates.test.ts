import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import type { GatewayStore } from '../../../gateway/store/event-store.js';
import { FakeClock, Stores, poll, tempDirs } from './helpers.js';

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

describe('reading aggregates', () => {
  it('keeps min, max, mean and count per minute and per hour of numeric readings (hand-computed)', () => {
    const W0 = Date.UTC(2025, 2, 1, 8, 0, 0);
    const clock = new FakeClock(1_000, W0);
    const store = stores.openStore(dirs.fresh(), { clock });
    const at = (uptimeMs: number): void => {
      // The store's uptime clock starts at 0 with this clock at mono 1000.
      clock.wall += uptimeMs + 1_000 - clock.mono;
      clock.mono = uptimeMs + 1_000;
    };
    // p0 numeric, p1 boolean (a state: not aggregated), p2 NaN in one poll (a fault: not aggregated).
    at(0);
    store.commitCycle({ polls: [poll(clock, 'm', [10, true, 1])] });
    at(20_000);
    clock.wall -= 86_400_000; // the wall clock jumps back a day inside the minute: same period
    store.commitCycle({ polls: [poll(clock, 'm', [20, false, Number.NaN])] });
    at(59_999);
    store.commitCycle({
      polls: [
        poll(clock, 'm', [30, true, 3], {
          quality: 'partial',
          errors: [{ code: 'MODBUS_TIMEOUT', message: 'x' }],
        }),
      ],
    });
    at(60_000);
    // Two polls of the same point in one cycle fold into one upsert.
    store.commitCycle({ polls: [poll(clock, 'm', [5]), poll(clock, 'm', [7])] });
    at(3_600_000);
    store.commitCycle({ polls: [poll(clock, 'm', [100])] });

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
});
