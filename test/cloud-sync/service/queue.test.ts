/** The consumer's keyed serial queue: one task at a time per key, bounded concurrency across keys. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedSerialQueue } from '../../../cloud-sync/service/consumer/queue.js';

describe('KeyedSerialQueue', () => {
  it('runs one key in order, one task at a time, and other keys alongside within the bound', async () => {
    const errors: unknown[] = [];
    const queue = new KeyedSerialQueue({ concurrency: 2, maxPending: 100, onError: (e) => errors.push(e) });
    const order: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const perKeyRunning = new Map<string, number>();
    const task = (key: string, n: number, ms: number) => async (): Promise<void> => {
      running += 1;
      perKeyRunning.set(key, (perKeyRunning.get(key) ?? 0) + 1);
      assert.equal(perKeyRunning.get(key), 1, `two tasks of ${key} at once`);
      maxRunning = Math.max(maxRunning, running);
      await sleep(ms);
      order.push(`${key}${n}`);
      perKeyRunning.set(key, (perKeyRunning.get(key) ?? 1) - 1);
      running -= 1;
    };
    // a1 blocks until released; a2 must wait for it, while b and c use the second slot.
    let releaseA1: () => void = () => undefined;
    const a1Gate = new Promise<void>((resolve) => (releaseA1 = resolve));
    queue.push('a', async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await a1Gate;
      order.push('a1');
      running -= 1;
    });
    queue.push('a', task('a', 2, 1));
    queue.push('b', task('b', 1, 1));
    queue.push('c', task('c', 1, 1));
    queue.push('a', async () => {
      throw new Error('boom');
    });
    queue.push('a', task('a', 3, 1));
    assert.equal(queue.pending, 6);
    while (order.length < 2) await sleep(5);
    assert.deepEqual(order, ['b1', 'c1'], 'other keys ran while a1 was blocked, and no later a task did');
    releaseA1();
    await queue.onIdle();
    assert.deepEqual(order, ['b1', 'c1', 'a1', 'a2', 'a3'], 'a failing task does not stop its key');
    assert.equal(maxRunning, 2);
    assert.equal(errors.length, 1);
    assert.equal(queue.pending, 0);
  });

  it('reports room only below maxPending and wakes a waiter when a task ends', async () => {
    const queue = new KeyedSerialQueue({ concurrency: 1, maxPending: 2, onError: () => undefined });
    queue.push('a', () => sleep(20));
    queue.push('b', () => sleep(20));
    assert.equal(queue.hasRoom(), false);
    let resumed = false;
    queue.whenRoom(() => (resumed = true));
    assert.equal(resumed, false);
    await queue.onIdle();
    assert.equal(resumed, true);
    queue.push('c', () => sleep(50));
    queue.push('d', () => sleep(1));
    assert.equal(queue.dropWaiting(), 1, 'd had not started');
    await queue.onIdle();
    assert.equal(queue.pending, 0);
  });

  it('gives each group at most its share: over it push() refuses, other groups still get in', async () => {
    const queue = new KeyedSerialQueue({
      concurrency: 1,
      maxPending: 10,
      maxPendingPerGroup: 2,
      onError: () => undefined,
    });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    assert.equal(
      queue.push('flood/a', () => gate, 'flood'),
      true,
    );
    assert.equal(
      queue.push('flood/b', () => gate, 'flood'),
      true,
    );
    assert.equal(
      queue.push('flood/a', () => gate, 'flood'),
      false,
    );
    assert.equal(queue.pendingOf('flood'), 2);
    const ran: string[] = [];
    assert.equal(
      queue.push('calm/a', async () => void ran.push('calm'), 'calm'),
      true,
    );
    assert.equal(queue.pending, 3);
    // Room comes back when the group's tasks end, or are dropped at close.
    release();
    await queue.onIdle();
    assert.deepEqual(ran, ['calm']);
    assert.equal(queue.pendingOf('flood'), 0);
    assert.equal(
      queue.push('flood/a', () => new Promise(() => undefined), 'flood'),
      true,
    );
    assert.equal(
      queue.push('flood/a', () => Promise.resolve(), 'flood'),
      true,
    );
    assert.equal(queue.dropWaiting(), 1);
    assert.equal(queue.pendingOf('flood'), 1);
  });
});
