/**
 * Child process of crash.test.ts: commits poll cycles into `<dataDir>` as fast as it can until
 * it is killed, printing `<firstSeq> <lastSeq>` after every commit so the parent knows what was
 * committed. Each cycle has readings, a telemetry event and, every third cycle, an alarm
 * transition with its record; every 25th cycle acknowledges part of the outbox. Telemetry has a
 * small quota so that evictions (and their gap events) happen under the knife too.
 *
 * Usage: node --import tsx test/gateway/store/crash-writer.ts <dataDir>
 */
import { pino } from 'pino';
import { LANES, type GatewayEventBody } from '../../../cloud-sync/contract/events.js';
import type { AlarmRecord } from '../../../gateway/alarms/types.js';
import { openGatewayStore } from '../../../gateway/store/event-store.js';
import { record, transition } from './helpers.js';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: crash-writer.ts <dataDir>');

const store = openGatewayStore(dataDir, {
  logger: pino({ level: 'silent' }),
  outboxQuota: { telemetry: 40 },
  telemetryEvictRows: 10,
  checkpointEveryCommits: 7,
  retention: { raw: { maxRows: 20_000, maxAgeS: 3_600 } },
});

const STATES = ['unacknowledged', 'acknowledged', 'normal'] as const;
const values = Array.from({ length: 40 }, (_, i) => ({ key: `p${i}`, value: i * 0.5 }));

for (let cycle = 0; ; cycle++) {
  const now = store.now();
  const events: GatewayEventBody[] = [{ kind: 'telemetry', deviceId: 'dev', values: { p0: cycle } }];
  const alarmRecords: AlarmRecord[] = [];
  if (cycle % 3 === 0) {
    const key = `dev:rule${cycle % 4}`;
    const to = STATES[cycle % STATES.length] ?? 'normal';
    events.push(transition(key, to));
    alarmRecords.push(record(key, { state: to, lastChangeMonoMs: now.monoMs, lastChangeWallMs: now.wallMs }));
  }
  const result = store.commitCycle({
    polls: [
      {
        busId: 'line',
        deviceId: 'dev',
        wallTimeMs: now.wallMs,
        monotonicMs: performance.now(),
        quality: 'good',
        readings: values,
        errors: [],
      },
    ],
    events,
    alarmRecords,
  });
  process.stdout.write(`${result.firstSeq ?? 0} ${result.lastSeq ?? 0}\n`);
  if (cycle % 25 === 24) {
    for (const lane of LANES) {
      const { lastSeq, ackedSeq } = store.laneState(lane);
      store.acknowledgeUpTo(lane, Math.max(ackedSeq, lastSeq - 150));
    }
  }
}
