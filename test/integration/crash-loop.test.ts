/**
 * Exactly-once in effect under kill -9 (docs/uplink-contract.md): a gateway process (store +
 * Uplink, committing alarm transitions and telemetry every 20 ms) and a cloud process (the service
 * with SQLite and its embedded broker on a fixed port) are SIGKILLed at random moments, the cloud,
 * the gateway and both in turn, and restarted. A gateway killed loses its in-flight batches and
 * resends from its acknowledged mark; a cloud killed between its commit and its ack gets the batch
 * again and must store nothing twice; while the cloud is down the small telemetry quota evicts, and
 * each eviction must reach the cloud as a gap event. At the end production stops, the outbox
 * drains, and the invariant checker (invariants.ts) must find nothing lost and nothing duplicated.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { requireCommand } from '../helpers/peers.js';
import { describeReport } from './invariants.js';
import { runCrashLoop, tempRoot } from './crash-harness.js';

const dirs = tempRoot('kerbside-crash-loop-');
after(dirs.cleanup);

describe('uplink crash loop (gateway and cloud processes, kill -9)', () => {
  it('loses nothing and duplicates nothing across random SIGKILLs of either side', async (t) => {
    requireCommand(process.execPath, 'nodejs');
    const result = await runCrashLoop(dirs.root, {
      rounds: 4,
      runMs: [300, 900],
      downMs: [0, 500],
      telemetryQuota: 150,
      log: process.env['DEBUG_UPLINK'] === undefined ? undefined : (line) => console.log(line),
    });
    const { report } = result;
    const summary = describeReport(report);
    t.diagnostic(`${summary} drain ${result.drainMs} ms`);
    assert.equal(report.lost.length, 0, `nothing lost:\n${summary}`);
    assert.equal(report.duplicates.length, 0, `nothing duplicated:\n${summary}`);
    assert.equal(report.pending.length, 0, `everything drained:\n${summary}`);
    assert.deepEqual(report.streamViolations, [], summary);
    // Every alarm transition the gateway committed (ledger and alarm_history) is in the cloud once.
    assert.ok(report.counts.alarmTransitions > 30, summary);
    assert.equal(report.counts.alarmTransitionsInCloudOnce, report.counts.alarmTransitions, summary);
    // The run did what it claims: both sides were killed, enough was committed, evictions
    // happened under the knife and were accounted for by gap events in the cloud.
    assert.deepEqual(result.kills, { cloud: 2, gateway: 1, both: 1 });
    assert.ok(report.counts.ledger > 300, summary);
    assert.ok(report.counts.gapEventsInCloud > 0 && report.counts.evictedWithGap > 0, summary);
    // Committed-but-unreported events exist only for the commit in progress at a gateway kill.
    assert.ok(report.counts.unreported <= result.gatewayKills * 4, summary);
  });
});
