import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LaneWindow } from '../../../gateway/uplink/lane-window.js';

describe('LaneWindow (docs/uplink-contract.md, delivery rules 2 to 4, per lane)', () => {
  it('starts at the acknowledged mark and chains each batch after the previous one', () => {
    const window = new LaneWindow(100, 3);
    assert.equal(window.nextAfter, 100);
    window.sent({ after: 100, last: 150, count: 50 }, 0);
    assert.equal(window.nextAfter, 150, 'the next batch says after = the previous batch last seq');
    window.sent({ after: 150, last: 170, count: 20 }, 0);
    window.sent({ after: 170, last: 171, count: 1 }, 0);
    assert.equal(window.canSend(), false, 'the window is bounded');
    assert.deepEqual([window.inFlightCount, window.inFlightEvents], [3, 71]);
  });

  it('refuses a batch that does not continue the window (it would let the cloud skip events)', () => {
    const window = new LaneWindow(10, 2);
    assert.throws(() => window.sent({ after: 11, last: 20, count: 9 }, 0), /does not continue/);
    assert.throws(() => window.sent({ after: 10, last: 10, count: 0 }, 0), /does not continue/);
  });

  it('slides on progress acks, ignores repeats, and goes back on a refusal', () => {
    const window = new LaneWindow(0, 4);
    window.sent({ after: 0, last: 10, count: 10 }, 0);
    window.sent({ after: 10, last: 20, count: 10 }, 0);
    window.sent({ after: 20, last: 30, count: 10 }, 0);
    assert.deepEqual(window.acknowledged(10), { kind: 'progress', upTo: 10 });
    assert.deepEqual([window.ackedSeq, window.inFlightCount, window.nextAfter], [10, 2, 30]);
    // The cloud lost (10, 20] and refused (20, 30] with its lastCommitted 10: resend from 10.
    assert.deepEqual(window.acknowledged(10), { kind: 'no_progress', upTo: 10 });
    window.goBack();
    assert.deepEqual([window.inFlightCount, window.nextAfter], [0, 10]);
    window.sent({ after: 10, last: 30, count: 20 }, 0);
    assert.deepEqual(window.acknowledged(30), { kind: 'progress', upTo: 30 });
    window.sent({ after: 30, last: 40, count: 10 }, 0);
    assert.deepEqual(window.acknowledged(30), { kind: 'no_progress', upTo: 30 });
    // Below the mark while batches are in flight: overtaken (acks out of order), not a refusal.
    assert.deepEqual(window.acknowledged(25), { kind: 'repeat', upTo: 25 });
    assert.deepEqual(window.acknowledged(40), { kind: 'progress', upTo: 40 });
    assert.deepEqual(window.acknowledged(25), { kind: 'repeat', upTo: 25 });
    assert.deepEqual([window.ackedSeq, window.inFlightCount, window.nextAfter], [40, 0, 40]);
  });

  it('an ack inside a batch restarts after the mark, never skipping the rest of that batch', () => {
    const window = new LaneWindow(0, 4);
    window.sent({ after: 0, last: 10, count: 10 }, 0);
    window.sent({ after: 10, last: 20, count: 10 }, 0);
    window.acknowledged(15);
    assert.deepEqual([window.ackedSeq, window.inFlightCount, window.nextAfter], [15, 0, 15]);
  });

  it('an ack beyond everything sent moves the next batch past it', () => {
    const window = new LaneWindow(0, 2);
    window.sent({ after: 0, last: 5, count: 5 }, 0);
    // After a reconnect the cloud may already hold more than this connection sent.
    window.acknowledged(40);
    assert.deepEqual([window.ackedSeq, window.inFlightCount, window.nextAfter], [40, 0, 40]);
  });

  it('times out on the oldest batch only', () => {
    const window = new LaneWindow(0, 2);
    assert.equal(window.timedOut(1e9, 1000), false, 'nothing in flight');
    window.sent({ after: 0, last: 5, count: 5 }, 1000);
    window.sent({ after: 5, last: 9, count: 4 }, 1500);
    assert.equal(window.timedOut(2000, 1000), false);
    assert.equal(window.timedOut(2001, 1000), true);
    window.acknowledged(5);
    assert.equal(window.timedOut(2001, 1000), false, 'the next batch has its own clock');
  });
});
