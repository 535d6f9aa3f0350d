/**
 * Child process of the end-to-end uplink tests: a gateway that commits events into its store and
 * forwards them with the real Uplink, until it is killed.
 *
 * Every ~`periodMs` it commits one cycle: `telemetryPerCycle` telemetry events and, every third
 * cycle, an alarm transition. Right after commitCycle returns it prints one ledger line per
 * outbox event of that commit (invariants.ts parseLedgerLine), gap events included; stdout is a
 * pipe, which Node writes synchronously on Linux, so a line printed is a line the parent gets even
 * if a SIGKILL follows. A line `stop` on stdin stops producing (the uplink keeps draining); the end
 * of stdin (the parent died or closed it) exits.
 *
 * Usage: node --import tsx test/integration/gateway-child.ts <json options>
 *   {dataDir, gatewayId, url, password, periodMs?, telemetryPerCycle?, telemetryQuota?, ackTimeoutMs?}
 */
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import type { GatewayEventBody } from '../../cloud-sync/contract/events.js';
import { openGatewayStore } from '../../gateway/store/event-store.js';
import { Uplink } from '../../gateway/uplink/uplink.js';
import { transition } from '../gateway/store/helpers.js';
import { formatLedgerLine } from './invariants.js';
import type { GatewaySpec } from './crash-harness.js';

const options = JSON.parse(process.argv[2] ?? '{}') as GatewaySpec;
const logger = pino(
  { level: process.env['DEBUG_UPLINK'] === undefined ? 'warn' : 'debug' },
  pino.destination(2),
);
const quota = options.telemetryQuota ?? 100_000;
const store = openGatewayStore(options.dataDir, {
  logger,
  outboxQuota: { telemetry: quota },
  telemetryEvictRows: Math.max(1, Math.ceil(quota / 4)),
});
const uplink = new Uplink(
  store,
  {
    gatewayId: options.gatewayId,
    url: options.url,
    username: options.gatewayId,
    password: options.password,
    version: '0.1.0-e2e',
    batchSize: 50,
    maxInFlightBatches: 4,
    pollIntervalMs: 50,
    statusIntervalMs: 2000,
    ackTimeoutMs: options.ackTimeoutMs ?? 2000,
    reconnect: { initialMs: 50, maxMs: 500 },
    connectTimeoutMs: 2000,
    keepaliveS: 5,
  },
  logger,
);
uplink.start();

const STATES = ['unacknowledged', 'acknowledged', 'normal'] as const;
let cycle = 0;
let producing = true;

function commitOne(): void {
  const events: GatewayEventBody[] = [];
  for (let i = 0; i < (options.telemetryPerCycle ?? 2); i++) {
    events.push({ kind: 'telemetry', deviceId: `${options.gatewayId}-m${i}`, values: { p0: cycle } });
  }
  if (cycle % 3 === 0) {
    events.push(transition(`dev${cycle % 5}:rule`, STATES[cycle % STATES.length] ?? 'normal'));
  }
  const result = store.commitCycle({ events });
  cycle++;
  if (result.firstSeq === null || result.lastSeq === null) return;
  // Synchronous with the commit: no ack can have deleted these rows yet (single thread).
  const rows = store
    .outboxAfter(result.firstSeq - 1, result.count)
    .filter((e) => e.seq <= (result.lastSeq ?? 0));
  const lines = rows.map((e) =>
    formatLedgerLine({
      gatewayId: options.gatewayId,
      epoch: store.epoch,
      lane: e.lane,
      seq: e.laneSeq,
      id: e.id,
      kind: e.kind,
    }),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  uplink.notify();
}

const timer = setInterval(() => {
  if (producing) commitOne();
}, options.periodMs ?? 20);

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (line.trim() === 'stop') {
    producing = false;
    process.stdout.write('STOPPED\n');
  }
});
input.on('close', () => {
  // The parent is gone or asked us to end: stop cleanly (the outbox is durable either way).
  clearInterval(timer);
  void uplink.stop().finally(() => {
    store.close();
    process.exit(0);
  });
});
process.stdout.write(`READY ${store.epoch}\n`);
