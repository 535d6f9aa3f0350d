/**
 * The one door to `kerbside.db` for every writer of the running gateway (ARCHITECTURE.md,
 * "Single writer to kerbside.db"): the pipeline, the downlink (commands, configuration documents,
 * local overrides) and the gateway's own start-up records (the quarantine alarm, the held-decisions
 * gap) all commit through a Committer, never through GatewayStore.commitCycle.
 *
 * Why a door and not a convention: each writer used to call commitCycle and then had to remember
 * to announce `store:committed`, which is what wakes the uplink; a writer that forgot left its
 * events in the outbox until the next poll cycle happened to announce. Here the commit and its
 * announcement are one call, so the rule holds by structure. test/lint/single-writer.test.ts
 * refuses any other mention of commitCycle in the gateway's source.
 */
import type { EventBus } from '../events/event-bus.js';
import type { CommitResult, GatewayStore, StoreCycle } from './event-store.js';

/**
 * The store as a writer sees it: everything but commitCycle (clocks, storage state, reads), so a
 * writer's own types keep it from committing around its Committer.
 */
export type StoreReader = Omit<GatewayStore, 'commitCycle'>;

export interface Committer {
  /**
   * Commits `cycle` in ONE transaction (GatewayStore.commitCycle), then, only then, announces it:
   * first what the writer announces of its own (`announce`: alarm:changed, poll:result ...), last
   * `store:committed` when the commit wrote outbox rows. Throws what commitCycle throws (a
   * StoreError); nothing is announced then, for nothing was committed.
   */
  commit(cycle: StoreCycle, announce?: (result: CommitResult) => void): CommitResult;
}

export function createCommitter(
  store: Pick<GatewayStore, 'commitCycle'>,
  events: Pick<EventBus, 'emit'>,
): Committer {
  return {
    commit(cycle, announce) {
      const result = store.commitCycle(cycle);
      announce?.(result);
      if (result.firstSeq !== null && result.lastSeq !== null)
        events.emit('store:committed', {
          fromSeq: result.firstSeq,
          toSeq: result.lastSeq,
          count: result.count,
        });
      return result;
    },
  };
}
