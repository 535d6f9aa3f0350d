import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { EventBus } from '../../../gateway/events/event-bus.js';

describe('event bus', () => {
  it('delivers typed payloads in subscription order and unsubscribes', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    const off = bus.on('store:committed', (e) => seen.push(`a${e.toSeq}`));
    bus.on('store:committed', (e) => seen.push(`b${e.toSeq}`));
    bus.emit('store:committed', { fromSeq: 1, toSeq: 3, count: 3 });
    off();
    bus.emit('store:committed', { fromSeq: 4, toSeq: 4, count: 1 });
    assert.deepEqual(seen, ['a3', 'b3', 'b4']);
    assert.equal(bus.listenerCount('store:committed'), 1);
  });

  it('keeps delivering when one listener throws', () => {
    const bus = new EventBus(pino({ level: 'silent' }));
    let delivered = 0;
    bus.on('store:committed', () => {
      throw new Error('broken listener');
    });
    bus.on('store:committed', () => delivered++);
    assert.doesNotThrow(() => bus.emit('store:committed', { fromSeq: 1, toSeq: 1, count: 1 }));
    assert.equal(delivered, 1);
  });
});
