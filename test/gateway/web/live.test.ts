/**
 * The live stream (gateway/web/live.ts) on a real gateway polling a real simulated gas detector,
 * over a real socket: a reading client gets hello, values, an alarm change and the periodic bus
 * state; a client that never reads is dropped (its socket destroyed) once its unsent bytes pass
 * the bound, while the reading client keeps receiving; the client limit answers 503; the app's
 * close() ends the streams instead of hanging on them.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { AlarmView, BusDiagnostics, LiveEvents } from '../../../gateway/web/api-types.js';
import { cabinetPortOf } from '../../../gateway/web/cabinet-adapter.js';
import type { CabinetPort } from '../../../gateway/web/cabinet-port.js';
import { registerLiveRoute, type LiveHub } from '../../../gateway/web/live.js';
import { startScenario, tcpEndpoint, type ScenarioHarness } from '../../helpers/gateway-harness.js';
import { waitFor } from '../../helpers/wait.js';
import { testApp } from './cabinet-harness.js';

const GAS = 'gas-1';
const LIMIT_BYTES = 64 * 1024;
const MAX_CLIENTS = 3;

interface Received {
  name: string;
  data: unknown;
}

/** An EventSource-like reader of the stream: parses `event:` / `data:` messages as they come. */
class Reader {
  readonly events: Received[] = [];
  comments = 0;
  closed = false;
  private buffer = '';
  constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.feed(chunk));
    response.on('close', () => (this.closed = true));
  }
  private feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      if (block.startsWith(':')) {
        this.comments++;
        continue;
      }
      const name = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (name !== undefined && data !== undefined)
        this.events.push({ name, data: JSON.parse(data) as unknown });
    }
  }
  of<K extends keyof LiveEvents>(name: K): Array<LiveEvents[K]> {
    return this.events.filter((e) => e.name === name).map((e) => e.data as LiveEvents[K]);
  }
}

function open(port: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/api/live',
      headers: { accept: 'text/event-stream' },
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
}

describe('the live stream on a real gateway', () => {
  let h: ScenarioHarness;
  let cabinet: CabinetPort;
  let hub: LiveHub;
  const app = testApp();
  let port = 0;

  before(async () => {
    h = await startScenario({
      name: 'web-live',
      buses: [tcpEndpoint('lan')],
      devices: [
        {
          id: GAS,
          bus: 'lan',
          unitId: 1,
          profile: 'anqi-gd300',
          gateway: { pollIntervalMs: 100, timeoutMs: 500 },
        },
      ],
      beforeStart: (_dataDir, simulation) => simulation.device(GAS).hold('h2s', 0.5),
    });
    cabinet = cabinetPortOf(h.gateway, { logger: pino({ level: 'silent' }) });
    // Bus state every 5 ms: enough bytes to fill a socket nobody reads within a few seconds.
    hub = registerLiveRoute(app, cabinet, {
      periodicMs: 5,
      maxBufferedBytes: LIMIT_BYTES,
      maxClients: MAX_CLIENTS,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  after(async () => {
    await app.close();
    cabinet?.close();
    await h?.stop();
  });

  it('sends hello, values (at most one per device per second), an alarm change, the bus state; drops a client that never reads', async (t) => {
    const response = await open(port);
    t.after(() => response.destroy());
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/event-stream/);
    const reader = new Reader(response);

    // A client that never reads: its socket is paused, so the kernel's buffers fill and then the
    // server's; the stream must drop it rather than wait or buffer without bound.
    const slow: Socket = connect(port, '127.0.0.1');
    let slowClosed = false;
    slow.on('close', () => (slowClosed = true));
    slow.on('error', () => undefined);
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    t.after(() => slow.destroy());
    slow.write(`GET /api/live HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
    slow.pause();

    await waitFor('hello', () => reader.of('hello')[0]);
    await waitFor('values of the gas detector', () => reader.of('values').find((v) => v.deviceId === GAS));
    const bus = await waitFor('bus state', () => reader.of('bus')[0]);
    assert.equal((bus as BusDiagnostics).buses[0]?.devices[0]?.deviceId, GAS);

    h.device(GAS).hold('h2s', 15);
    const change = (await waitFor('the h2s alarm change', () =>
      reader.of('alarm').find((a) => a.alarmKey === `${GAS}:h2s_high` && a.state === 'unacknowledged'),
    )) as AlarmView;
    assert.equal(change.deviceName.en, 'Anqi GD-300 sewer gas detector');
    assert.equal(change.level, 1);

    // The kernel holds megabytes for a socket on loopback before the server's own buffer grows:
    // large messages (as a flood of events would be) get there in a second instead of a minute.
    const lan = (bus as BusDiagnostics).buses[0];
    assert.ok(lan !== undefined);
    const filler: BusDiagnostics = {
      buses: Array.from({ length: 200 }, (_, i) => ({ ...lan, id: `filler-${i}` })),
    };
    const flood = setInterval(() => hub.broadcast('bus', filler), 5);
    try {
      await waitFor('the slow client dropped', () => hub.dropped >= 1, { timeoutMs: 20_000 });
    } finally {
      clearInterval(flood);
    }
    // Its socket was destroyed: the client sees the connection end once it reads what came before.
    slow.resume();
    await waitFor('the slow client closed', () => slowClosed);
    // The reading client was not: it keeps receiving.
    const seen = reader.events.length;
    await waitFor('more events for the reading client', () => reader.events.length > seen + 10);
    assert.equal(reader.closed, false);
    // Values coalesced: polls every 100 ms, but never two values of one device within a second.
    const values = reader.events.filter((e) => e.name === 'values');
    assert.ok(values.length >= 1);
    const times = values.map((v) => (v.data as LiveEvents['values']).values[0]?.wallMs ?? 0);
    for (let i = 1; i < times.length; i++)
      assert.ok(
        (times[i] ?? 0) - (times[i - 1] ?? 0) >= 800,
        `values ${i} came ${(times[i] ?? 0) - (times[i - 1] ?? 0)} ms after the previous`,
      );
  });

  it(`answers 503 beyond ${MAX_CLIENTS} streams`, async () => {
    await waitFor('earlier streams gone', () => hub.size === 0);
    const open3 = await Promise.all([open(port), open(port), open(port)]);
    assert.ok(open3.every((r) => r.statusCode === 200));
    const fourth = await open(port);
    assert.equal(fourth.statusCode, 503);
    const body = await new Promise<string>((resolve) => {
      let text = '';
      fourth.setEncoding('utf8');
      fourth.on('data', (c: string) => (text += c));
      fourth.on('end', () => resolve(text));
    });
    assert.equal((JSON.parse(body) as { error: string }).error, 'CABINET_LIVE_FULL');
    for (const r of open3) r.destroy();
  });

  it("the app's close ends open streams instead of hanging on them", async () => {
    await waitFor('earlier streams gone', () => hub.size === 0);
    const response = await open(port);
    const reader = new Reader(response);
    await waitFor('hello', () => reader.of('hello')[0]);
    await app.close();
    await waitFor('the stream ended', () => reader.closed);
  });
});
