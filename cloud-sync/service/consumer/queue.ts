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
 */

export type Task = () => Promise<void>;

export interface KeyedQueueOptions {
  /** Tasks running at once across all keys (>= 1). */
  concurrency: number;
  /** Tasks queued or running at or above which `hasRoom()` is false (>= 1). */
  maxPending: number;
  /** Called with a task's rejection; tasks are expected to handle their own errors. */
  onError: (error: unknown, key: string) => void;
}

export class KeyedSerialQueue {
  private readonly waiting = new Map<string, Task[]>();
  /** Keys whose head task may start, in the order they became ready (fairness across keys). */
  private readonly ready: string[] = [];
  private readonly runningKeys = new Set<string>();
  private pendingCount = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly options: KeyedQueueOptions) {
    if (!(options.concurrency >= 1) || !(options.maxPending >= 1)) {
      throw new RangeError('KeyedSerialQueue: concurrency and maxPending must be at least 1');
    }
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

  push(key: string, task: Task): void {
    this.pendingCount += 1;
    const list = this.waiting.get(key);
    if (list === undefined) {
      this.waiting.set(key, [task]);
      if (!this.runningKeys.has(key)) this.ready.push(key);
    } else {
      list.push(task);
    }
    this.pump();
  }

  /**
   * Drops every task that has not started (returns how many). Used at shutdown: an unprocessed
   * batch has not been acked, so the gateway resends it (docs/uplink-contract.md, delivery rule 4);
   * nothing is lost.
   */
  dropWaiting(): number {
    let dropped = 0;
    for (const list of this.waiting.values()) dropped += list.length;
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
      const task = list?.shift();
      if (list === undefined || task === undefined) continue;
      if (list.length === 0) this.waiting.delete(key);
      this.runningKeys.add(key);
      void this.run(key, task);
    }
  }

  private async run(key: string, task: Task): Promise<void> {
    try {
      await task();
    } catch (error) {
      this.options.onError(error, key);
    }
    this.runningKeys.delete(key);
    this.pendingCount -= 1;
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
