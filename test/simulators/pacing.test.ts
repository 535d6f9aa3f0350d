/**
 * Wire-speed pacing (simulators/pacing.ts): a paced RTU reply never arrives before the time the
 * request and the reply would take on a real line (MSL 2.5.1: 11 bits per character, t3.5
 * between frames). Only lower bounds are asserted here: how late a reply or a sleep comes depends
 * on the load of a shared machine (ARCHITECTURE.md, "Benchmarks"), so the lateness is measured by
 * `npm run bench -- pacing` (test/bench/pacing.ts), against a plain setTimeout and an unpaced slave
 * in the same run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { SerialSettings } from '../../drivers/transport/transport.js';
import { startSimulation, type Simulation } from '../../simulators/index.js';
import { rtuReplyDelayMs, rtuTransactionWireMs, sleepUntil } from '../../simulators/pacing.js';
import { requireCommand } from '../helpers/peers.js';
import { GAS } from './helpers.js';
import { readTimes, rtuClient } from './transport-helpers.js';

const LINE: SerialSettings = { baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1 };

describe('wire time arithmetic', () => {
  it('matches (20 + 2N) * 11 / baud + turnaround for a read of N registers', () => {
    const pacing = { serial: LINE, turnaroundMs: 2 };
    assert.ok(Math.abs(rtuTransactionWireMs(10, pacing) - ((40 * 11 * 1000) / 9600 + 2)) < 1e-9);
    // request 8 bytes, reply 5 + 2N bytes, t3.5 between them
    assert.ok(Math.abs(rtuReplyDelayMs(8, 25, pacing) - ((36.5 * 11 * 1000) / 9600 + 2)) < 1e-9);
    // 8N2 is also 11 bits per character
    assert.equal(
      rtuReplyDelayMs(8, 25, { serial: { ...LINE, parity: 'none', stopBits: 2 } }),
      rtuReplyDelayMs(8, 25, { serial: LINE }),
    );
  });
});

describe('sleepUntil', () => {
  it('never wakes early', async () => {
    const lateness: number[] = [];
    for (let i = 0; i < 60; i++) {
      const deadline = performance.now() + 2 + (i % 7) * 1.3;
      await sleepUntil(deadline);
      lateness.push(performance.now() - deadline);
    }
    assert.ok(Math.min(...lateness) >= 0, `woke ${-Math.min(...lateness)} ms early`);
  });
});

describe('paced RTU replies', () => {
  let sim: Simulation;

  before(async () => {
    requireCommand('socat', 'socat');
    sim = await startSimulation({
      buses: [
        { id: 'paced', kind: 'rtu', rtuOverTcpPort: 0, serial: LINE },
        { id: 'pty', kind: 'rtu', pty: true, ptyFallback: false, serial: LINE },
      ],
      devices: [
        { bus: 'paced', unitId: 1, profile: GAS },
        { bus: 'pty', unitId: 1, profile: GAS },
      ],
    });
  });

  after(async () => {
    await sim?.stop();
  });

  it('RTU over TCP: never answers before the wire time', async () => {
    for (const quantity of [1, 8, 32]) {
      const wire = rtuReplyDelayMs(8, 5 + 2 * quantity, { serial: LINE, turnaroundMs: 2 });
      const times = await readTimes(sim, 'paced', quantity, 12);
      const late = times.map((t) => t - wire);
      assert.ok(Math.min(...late) >= 0, `a reply came ${-Math.min(...late)} ms before its wire time`);
    }
  });

  it('pty: the gateway-side client sees at least the wire time for every transaction', async () => {
    const client = await rtuClient(sim.bus('pty').gatewayPath, LINE);
    try {
      for (const quantity of [2, 16]) {
        const wire = rtuReplyDelayMs(8, 5 + 2 * quantity, { serial: LINE, turnaroundMs: 2 });
        for (let i = 0; i < 5; i++) {
          // Timed around the whole request: the client's own rttMs starts when the write has
          // drained, which on a loaded machine can be after the slave already saw the request.
          const begun = performance.now();
          await client.request(1, { fc: 0x04, address: 0, quantity }, { timeoutMs: 500 });
          const elapsed = performance.now() - begun;
          assert.ok(elapsed >= wire - 0.05, `transaction took ${elapsed} ms < wire ${wire} ms`);
        }
      }
    } finally {
      await client.close();
    }
  });
});
