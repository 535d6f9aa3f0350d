/**
 * The one commit path (gateway/store/committer.ts): a commit, then the writer's own announcement,
 * then `store:committed` (the uplink's wake-up) when outbox rows were written; nothing announced
 * for a commit that failed.
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { EventBus } from '../../../gateway/events/event-bus.js';
import { createCommitter } from '../../../gateway/store/committer.js';
import { FakeClock, poll, silentLogger, Stores, telemetry, tempDirs, transition } from './helpers.js';

const dirs = tempDirs('kerbside-committer-');
const stores = new Stores();
afterEach(() => stores.closeAll());
after(() => dirs.cleanup());

/** An event bus whose every event is noted by name and, for store:committed, its seqs. */
function recordingBus(): { events: EventBus; seen: string[] } {
  const events = new EventBus(silentLogger);
  const seen: string[] = [];
  events.on('store:committed', (e) => seen.push(`store:committed ${e.fromSeq}..${e.toSeq} (${e.count})`));
  return { events, seen };
}

describe('Committer', () => {
  it('commits, lets the writer announce, then announces store:committed with the seqs written', () => {
    const clock = new FakeClock();
    const store = stores.openStore(dirs.fresh(), { clock });
    const { events, seen } = recordingBus();
    const committer = createCommitter(store, events);
    const result = committer.commit({ events: [transition('gas:high'), telemetry('gas', 1)] }, (r) =>
      seen.push(`writer ${r.count}`),
    );
    assert.equal(result.count, 2);
    assert.deepEqual(seen, ['writer 2', 'store:committed 1..2 (2)']);
    assert.equal(store.stats().commits, 1);
  });

  it('a commit without outbox rows (readings, a downlink row) does not wake the uplink', () => {
    const clock = new FakeClock();
    const store = stores.openStore(dirs.fresh(), { clock });
    const { events, seen } = recordingBus();
    const committer = createCommitter(store, events);
    const result = committer.commit({ polls: [poll(clock, 'd', [1, 2])] }, () => seen.push('writer'));
    assert.equal(result.readings, 2);
    assert.deepEqual(seen, ['writer']);
  });

  it('a failed commit throws and announces nothing', () => {
    const { events, seen } = recordingBus();
    const committer = createCommitter(
      {
        commitCycle() {
          throw new Error('STORE_WRITE_FAILED: disk I/O error');
        },
      },
      events,
    );
    assert.throws(
      () => committer.commit({ events: [transition('gas:high')] }, () => seen.push('writer')),
      /disk I\/O/,
    );
    assert.deepEqual(seen, []);
  });
});
