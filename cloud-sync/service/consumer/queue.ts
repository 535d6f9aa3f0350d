/**
 * A keyed serial queue with a global concurrency bound: tasks with the same key run one at a time
 * in arrival order, tasks with different keys run concurrently, at most `concurrency` at once.
 *
 * Why per key: the batches of one stream (gateway, epoch, lane) must reach ingestBatch in the order
 * this instance received them. Correctness does not depend on it (docs/uplink-contract.md, delivery
 * rule 3 holds under any order, and shared subscriptions do not preserve order anyway), but
 * out-of-order processing turns in-order deliveries into `after_ahead` refusals and resends. Why
 * bounded: one noisy gateway must not open an unbounded number of transactions, and memory must not
 * grow with the broker's delivery rate (see `pending` and `whenRoom`, used for backpressure).
 *
 * Why a share per group (a gateway): the backpressure above stops reading from the broker for
 * everyone, so without a share one gateway flooding its `up/events` would fill the queue and stall
 * every other gateway behind its messages. A group may hold at most `maxPendingPerGroup` tasks; a
 * task over that is refused (`push` returns false) and the caller drops the message unacked, which
 * costs nothing: the gateway resends what it has not been acked (docs/uplink-contract.md, delivery
 * rule 4). The queue thus never fills with one gateway's work while others wait.
 */

export type Task = () => Promise<void>;

export interface KeyedQueueOptions {
  /** Tasks running at once across all keys (>= 1). */
  concurrency: number;
  /** Tasks queued or running at or above which `hasRoom()` is false (>= 1). */
  maxPending: number;
  /**
   * Tasks queued or running for one group at most (>= 1); default maxPending (no share). Set it
   * below maxPending so that a full queue always holds several groups' work.
   */
  maxPendingPerGroup?: number;
  /** Called with a task's rejection; tasks are expected to handle their own errors. */
  onError: (error: unknown, key: string) => void;
}

interface Entry {
  task: Task;
  group: string;
}

export class KeyedSerialQueue {
  private readonly waiting = new Map<string, Entry[]>();
  /** Keys whose head task may start, in the order they became ready (fairness across keys). */
  private readonly ready: string[] = [];
  private readonly runningKeys = new Set<string>();
  private pendingCount = 0;
  /** Tasks queued or running per group (a group is a gateway in the consumer). */
  private readonly groupCounts = new Map<string, number>();
  private readonly maxPerGroup: number;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly options: KeyedQueueOptions) {
    if (!(options.concurrency >= 1) || !(options.maxPending >= 1)) {
      throw new RangeError('KeyedSerialQueue: concurrency and maxPending must be at least 1');
    }
    this.maxPerGroup = options.maxPendingPerGroup ?? options.maxPending;
    if (!(this.maxPerGroup >= 1))
      throw new RangeError('KeyedSerialQueue: maxPendingPerGroup must be at least 1');
  }

  /** Tasks queued or running for `group`. */
  pendingOf(group: string): number {
    return this.groupCounts.get(group) ?? 0;
  }

  /** Tasks queued or running. */
  get pending(): number {
    return this.pendingCount;
  }

  hasRoom(): boolean {
    return this.pendingCount < this.options.maxPending;
  }

  /** Calls `resume` as soon as `hasRoom()` holds (at once if it does now). */
  whenRoom(resume: () => void): void {
    if (this.hasRoom()) resume();
    else this.roomWaiters.push(resume);
  }

  /**
   * Queues `task` under `key` (serial per key) and `group` (its share; default: the key itself).
   * False, and nothing queued, when the group already holds its share.
   */
  push(key: string, task: Task, group: string = key): boolean {
    const inGroup = this.pendingOf(group);
    if (inGroup >= this.maxPerGroup) return false;
    this.groupCounts.set(group, inGroup + 1);
    this.pendingCount += 1;
    const entry: Entry = { task, group };
    const list = this.waiting.get(key);
    if (list === undefined) {
      this.waiting.set(key, [entry]);
      if (!this.runningKeys.has(key)) this.ready.push(key);
    } else {
      list.push(entry);
    }
    this.pump();
    return true;
  }

  /**
   * Drops every task that has not started (returns how many). Used at shutdown: an unprocessed
   * batch has not been acked, so the gateway resends it (docs/uplink-contract.md, delivery rule 4);
   * nothing is lost.
   */
  dropWaiting(): number {
    let dropped = 0;
    for (const list of this.waiting.values()) {
      dropped += list.length;
      for (const entry of list) this.leaveGroup(entry.group);
    }
    this.waiting.clear();
    this.ready.length = 0;
    this.pendingCount -= dropped;
    this.settle();
    return dropped;
  }

  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void> {
    if (this.pendingCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.runningKeys.size < this.options.concurrency && this.ready.length > 0) {
      const key = this.ready.shift() as string;
      const list = this.waiting.get(key);
      const entry = list?.shift();
      if (list === undefined || entry === undefined) continue;
      if (list.length === 0) this.waiting.delete(key);
      this.runningKeys.add(key);
      void this.run(key, entry);
    }
  }

  private leaveGroup(group: string): void {
    const left = (this.groupCounts.get(group) ?? 1) - 1;
    if (left <= 0) this.groupCounts.delete(group);
    else this.groupCounts.set(group, left);
  }

  private async run(key: string, entry: Entry): Promise<void> {
    try {
      await entry.task();
    } catch (error) {
      this.options.onError(error, key);
    }
    this.runningKeys.delete(key);
    this.pendingCount -= 1;
    this.leaveGroup(entry.group);
    // The key goes to the back of the line, so a busy stream cannot starve the others.
    if (this.waiting.has(key)) this.ready.push(key);
    this.settle();
    this.pump();
  }

  private settle(): void {
    while (this.hasRoom() && this.roomWaiters.length > 0) this.roomWaiters.shift()?.();
    if (this.pendingCount === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
