/**
 * The packet guard reads MQTT fixed headers (MQTT 3.1.1 section 2.2.3) byte by byte as they
 * arrive: these feed it whole packets, single bytes and odd splits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketGuard, type PacketGuardLimits } from '../../../../cloud-sync/service/broker/packet-guard.js';
import { fixedHeader, remainingLength } from './helpers.js';

const LIMITS: PacketGuardLimits = {
  beforeAuthPacketBytes: 100,
  beforeAuthTotalBytes: 1_000,
  afterAuthPacketBytes: 100_000,
};

/** A packet of `type` (first byte) whose body is `length` zero bytes. */
function packet(first: number, length: number): Buffer {
  return Buffer.concat([fixedHeader(first, length), Buffer.alloc(length)]);
}

function feedBytewise(guard: PacketGuard, data: Buffer): ReturnType<PacketGuard['feed']> {
  let verdict: ReturnType<PacketGuard['feed']> = { ok: true };
  for (const byte of data) {
    verdict = guard.feed(Buffer.from([byte]));
    if (!verdict.ok) return verdict;
  }
  return verdict;
}

describe('PacketGuard', () => {
  it('encodes the spec examples of section 2.2.3 the way the guard reads them', () => {
    assert.deepEqual(remainingLength(0), [0x00]);
    assert.deepEqual(remainingLength(127), [0x7f]);
    assert.deepEqual(remainingLength(128), [0x80, 0x01]);
    assert.deepEqual(remainingLength(16_383), [0xff, 0x7f]);
    assert.deepEqual(remainingLength(16_384), [0x80, 0x80, 0x01]);
    assert.deepEqual(remainingLength(268_435_455), [0xff, 0xff, 0xff, 0x7f]);
  });

  it('passes packets within the limit, whole and byte by byte', () => {
    const stream = Buffer.concat([packet(0x10, 100), packet(0xc0, 0), packet(0x82, 7)]);
    assert.deepEqual(new PacketGuard(LIMITS).feed(stream), { ok: true });
    assert.deepEqual(feedBytewise(new PacketGuard(LIMITS), stream), { ok: true });
  });

  it('refuses a packet announcing 256 MiB (the largest length) as soon as its length is complete', () => {
    const guard = new PacketGuard(LIMITS);
    const header = Buffer.from([0x30, ...remainingLength(268_435_455)]);
    // Every byte but the last of the length leaves the verdict open.
    for (const byte of header.subarray(0, header.length - 1))
      assert.deepEqual(guard.feed(Buffer.from([byte])), { ok: true });
    const verdict = guard.feed(header.subarray(header.length - 1));
    assert.deepEqual(verdict, { ok: false, reason: 'packet_too_large', announced: 268_435_455 });
    // Once refused, always refused.
    assert.equal(guard.feed(Buffer.from([0xc0, 0x00])).ok, false);
  });

  it('refuses at 101 bytes and accepts exactly 100 before authentication', () => {
    assert.deepEqual(new PacketGuard(LIMITS).feed(Buffer.from([0x10, ...remainingLength(100)])), {
      ok: true,
    });
    const verdict = new PacketGuard(LIMITS).feed(Buffer.from([0x10, ...remainingLength(101)]));
    assert.deepEqual(verdict, { ok: false, reason: 'packet_too_large', announced: 101 });
  });

  it('finds the next header after a body split across chunks', () => {
    const guard = new PacketGuard(LIMITS);
    const first = packet(0x10, 50);
    assert.equal(guard.feed(first.subarray(0, 20)).ok, true);
    assert.equal(guard.feed(first.subarray(20)).ok, true);
    // The byte after the body is a header again: an oversized one is seen.
    const verdict = guard.feed(Buffer.from([0x30, ...remainingLength(5_000)]));
    assert.equal(verdict.ok, false);
  });

  it('refuses a Remaining Length with a continuation bit in its fourth byte (malformed)', () => {
    const verdict = feedBytewise(new PacketGuard(LIMITS), Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    assert.deepEqual(verdict, { ok: false, reason: 'malformed_length' });
  });

  it('raises the packet limit after authentication and lifts the byte total', () => {
    const guard = new PacketGuard(LIMITS);
    assert.equal(guard.feed(packet(0x10, 60)).ok, true);
    guard.markAuthenticated();
    assert.equal(guard.feed(packet(0x30, 90_000)).ok, true);
    assert.equal(guard.feed(packet(0x30, 100_000)).ok, true);
    const verdict = guard.feed(Buffer.from([0x30, ...remainingLength(100_001)]));
    assert.deepEqual(verdict, { ok: false, reason: 'packet_too_large', announced: 100_001 });
  });

  it('refuses more bytes before authentication than the total allows, even in small packets', () => {
    const guard = new PacketGuard(LIMITS);
    let verdict: ReturnType<PacketGuard['feed']> = { ok: true };
    for (let i = 0; i < 20 && verdict.ok; i++) verdict = guard.feed(packet(0x30, 90));
    assert.deepEqual(verdict, { ok: false, reason: 'too_much_before_auth' });
    assert.ok(guard.acceptedBeforeAuth <= LIMITS.beforeAuthTotalBytes + 92);
  });
});
