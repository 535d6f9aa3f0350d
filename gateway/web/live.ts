/**
 * GET /api/live: the cabinet's changes as server-sent events (the WHATWG HTML standard,
 * "Server-sent events": `event:` name, `data:` JSON, a blank line; a `:` line is a comment), by
 * hand on the raw response, no library (issue 13, part 2). Events (api-types.ts LiveEvents):
 *
 *   hello    on connect;
 *   values   a device's new values after each committed poll (`poll:result`), at most one per
 *            device per second (coalesced: the latest value of each point read meanwhile);
 *   alarm    an alarm's view after a committed change (`alarm:changed`);
 *   bus      the bus counters, every 2 s;
 *   uplink   the uplink state, every 2 s and when its connection goes up or down;
 *   lighting a lighting write (`lighting:action`).
 *
 * Bounded, never waiting (the web server must not delay polling or alarms): each message is
 * serialised ONCE and written to every client; a client whose unsent bytes (its socket's buffer
 * and the response's) exceed `maxBufferedBytes` is dropped (its socket destroyed), never waited
 * for; EventSource reconnects by itself and gets `hello` and fresh state. A comment line every
 * 15 s keeps proxies and NAT from closing an idle stream. At most `maxClients` streams (503
 * CABINET_LIVE_FULL beyond). On the app's close (preClose) every stream is ended, so close()
 * never hangs on them.
 *
 * A stream lives no longer than the session it was opened with (OWASP Session Management Cheat
 * Sheet, "Session Expiration": a session must end server-side on logout and expiry). The guard
 * checks the session only when the stream starts; so every `sessionCheckMs` the hub asks each
 * client's `stillValid()` (access.ts RequestSession: session live, user enabled, same password
 * hash, role allowed) and destroys the streams whose session has ended: logout, an admin disabling
 * the user, a new password, idle or absolute expiry. Asking does not restart the idle time: an
 * open page alone does not keep a session alive. EventSource then reconnects and gets 401.
 * GET only: fastify's automatic HEAD route would run the handler and attach a client that is never
 * answered (`exposeHeadRoute: false`; HEAD /api/live is 404).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { performance } from 'node:perf_hooks';
import type { DevicePollResult } from '../bus/types.js';
import type { LiveEventName, LiveEvents, PointValueView } from './api-types.js';
import { sessionOf } from './access.js';
import { CabinetError } from './cabinet-errors.js';
import type { CabinetPort } from './cabinet-port.js';
import { refuse } from './routes/refusals.js';
import { requireRunning } from './routes/running.js';
import { ACCESS, errors } from './routes/schemas.js';
import { alarmView } from './views/alarms.js';
import { cachedIndex } from './views/cabinet-index.js';
import { busDiagnostics } from './views/devices.js';
import { uplinkState } from './views/overview.js';

export interface LiveOptions {
  /** Most simultaneous streams (default 32); more get 503. */
  maxClients?: number;
  /** A client with more unsent bytes than this is dropped (default 256 KiB). */
  maxBufferedBytes?: number;
  /** Comment line interval (default 15 s). */
  heartbeatMs?: number;
  /** Bus counters and uplink state interval (default 2 s). */
  periodicMs?: number;
  /** Least time between two `values` of one device (default 1 s). */
  valuesEveryMs?: number;
  /** How often each stream's session is checked (default 1 s); an ended session ends its stream. */
  sessionCheckMs?: number;
}

/** Whether the session a stream was opened with still admits it (access.ts RequestSession.stillValid). */
export type StillValid = () => boolean;

const DEFAULTS: Required<LiveOptions> = {
  maxClients: 32,
  maxBufferedBytes: 256 * 1024,
  heartbeatMs: 15_000,
  periodicMs: 2_000,
  valuesEveryMs: 1_000,
  sessionCheckMs: 1_000,
};

/** How often the uplink's connection is looked at between the periodic states (memory only). */
const UPLINK_CHECK_MS = 500;

interface PendingValues {
  values: Map<string, PointValueView>;
  online: boolean;
}

/** The streams and what feeds them. */
export class LiveHub {
  private readonly clients = new Set<ServerResponse>();
  /** Each stream's session check, asked every sessionCheckMs. */
  private readonly validity = new Map<ServerResponse, StillValid>();
  private readonly options: Required<LiveOptions>;
  private readonly lastValuesMs = new Map<string, number>();
  private readonly pendingValues = new Map<string, PendingValues>();
  private readonly pendingAlarms = new Set<string>();
  private alarmFlushQueued = false;
  private lastConnected: boolean | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribe: Array<() => void> = [];
  private readonly index: ReturnType<typeof cachedIndex>;
  /** Clients dropped for falling behind, since start (tests and the log). */
  dropped = 0;
  /** Session checks made, since start (tests). */
  sessionChecks = 0;

  constructor(
    private readonly cabinet: CabinetPort,
    options: LiveOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.index = cachedIndex(cabinet);
  }

  get size(): number {
    return this.clients.size;
  }

  start(): void {
    const { cabinet } = this;
    this.unsubscribe.push(
      cabinet.on('poll:result', (poll) => this.onPoll(poll)),
      cabinet.on('alarm:changed', (change) => this.onAlarm(change.alarmKey)),
      cabinet.on('lighting:action', (action) => {
        if (this.clients.size === 0) return;
        this.broadcast('lighting', {
          deviceId: action.deviceId,
          target: action.target,
          on: action.action === 'switch' ? action.value === true || action.value === 1 : null,
          dimLevel: action.action === 'dim' && typeof action.value === 'number' ? action.value : null,
          reason: action.reason,
          ok: action.ok,
          error: action.error,
        });
      }),
    );
    this.timers.push(
      setInterval(() => this.periodic(), this.options.periodicMs),
      setInterval(() => this.checkUplink(), UPLINK_CHECK_MS),
      setInterval(() => this.flushValues(), Math.max(50, Math.floor(this.options.valuesEveryMs / 4))),
      setInterval(() => this.heartbeat(), this.options.heartbeatMs),
      setInterval(() => this.checkSessions(), this.options.sessionCheckMs),
    );
    for (const timer of this.timers) timer.unref();
  }

  /** Ends every stream (the app is closing) and stops listening. */
  stop(): void {
    for (const stop of this.unsubscribe.splice(0)) stop();
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    for (const client of this.clients) client.end();
    this.clients.clear();
    this.validity.clear();
  }

  /**
   * Takes over the response of GET /api/live; the stream ends once `stillValid` says false.
   * Throws CabinetError CABINET_LIVE_FULL.
   */
  attach(reply: FastifyReply, stillValid: StillValid): void {
    if (this.clients.size >= this.options.maxClients)
      throw new CabinetError(
        'CABINET_LIVE_FULL',
        `the live stream has its ${this.options.maxClients} clients; try again shortly`,
      );
    reply.hijack();
    const res = reply.raw;
    // The headers the app's hooks set (security headers ...) go out with the stream's own.
    const headers: Record<string, string | number | string[]> = {};
    for (const [name, value] of Object.entries(reply.getHeaders()))
      if (value !== undefined) headers[name] = value;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // A reverse proxy must pass each event on at once (nginx buffers otherwise).
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    this.clients.add(res);
    this.validity.set(res, stillValid);
    res.on('close', () => this.forget(res));
    // Until the first event, EventSource shows nothing: hello says the stream is up.
    this.write(res, message('hello', { serverWallMs: Date.now() }));
  }

  /** Serialises one event once and writes it to every client. */
  broadcast<K extends LiveEventName>(name: K, data: LiveEvents[K]): void {
    if (this.clients.size === 0) return;
    const bytes = message(name, data);
    for (const client of [...this.clients]) this.write(client, bytes);
  }

  private forget(client: ServerResponse): void {
    this.clients.delete(client);
    this.validity.delete(client);
  }

  private write(client: ServerResponse, bytes: Buffer): void {
    if (client.destroyed || client.writableEnded) {
      this.forget(client);
      return;
    }
    // writableLength: bytes the response and its socket still hold (OutgoingMessage). A client
    // that does not read lets it grow; past the bound it is dropped, never waited for.
    if (client.writableLength > this.options.maxBufferedBytes) {
      this.dropped++;
      this.forget(client);
      client.destroy();
      return;
    }
    client.write(bytes);
  }

  private onPoll(poll: DevicePollResult): void {
    if (this.clients.size === 0) return;
    let pending = this.pendingValues.get(poll.deviceId);
    if (pending === undefined) {
      pending = { values: new Map(), online: true };
      this.pendingValues.set(poll.deviceId, pending);
    }
    pending.online = poll.quality !== 'failed';
    const quality = poll.quality === 'good' ? 'good' : 'partial';
    for (const reading of poll.readings) {
      const bad = typeof reading.value === 'number' && !Number.isFinite(reading.value);
      pending.values.set(reading.key, {
        key: reading.key,
        value: bad ? null : reading.value,
        quality: bad ? 'bad' : quality,
        wallMs: poll.wallTimeMs,
      });
    }
    this.sendValues(poll.deviceId, performance.now());
  }

  private flushValues(): void {
    const now = performance.now();
    for (const deviceId of [...this.pendingValues.keys()]) this.sendValues(deviceId, now);
  }

  /** Sends a device's pending values when its last `values` is at least valuesEveryMs old. */
  private sendValues(deviceId: string, nowMs: number): void {
    const pending = this.pendingValues.get(deviceId);
    if (pending === undefined) return;
    if (nowMs - (this.lastValuesMs.get(deviceId) ?? -Infinity) < this.options.valuesEveryMs) return;
    this.pendingValues.delete(deviceId);
    this.lastValuesMs.set(deviceId, nowMs);
    this.broadcast('values', { deviceId, values: [...pending.values.values()], online: pending.online });
  }

  /** Alarm changes of one commit are gathered and sent after it, from one look at the records. */
  private onAlarm(alarmKey: string): void {
    if (this.clients.size === 0) return;
    this.pendingAlarms.add(alarmKey);
    if (this.alarmFlushQueued) return;
    this.alarmFlushQueued = true;
    setImmediate(() => {
      this.alarmFlushQueued = false;
      const keys = [...this.pendingAlarms];
      this.pendingAlarms.clear();
      if (!this.cabinet.running()) return;
      const index = this.index();
      const now = this.cabinet.now();
      const records = new Map(this.cabinet.alarmRecords().map((r) => [r.alarmKey, r]));
      for (const key of keys) {
        const record = records.get(key);
        if (record !== undefined) this.broadcast('alarm', alarmView(index, record, now));
      }
    });
  }

  private periodic(): void {
    if (this.clients.size === 0 || !this.cabinet.running()) return;
    this.broadcast('bus', busDiagnostics(this.cabinet, this.index()));
    const uplink = uplinkState(this.cabinet);
    this.lastConnected = uplink.connected;
    this.broadcast('uplink', uplink);
  }

  /** The connection going up or down is sent at once, not at the next periodic state. */
  private checkUplink(): void {
    if (this.clients.size === 0 || !this.cabinet.running()) return;
    const connected = this.cabinet.uplink().stats?.connected ?? false;
    if (this.lastConnected === null || connected === this.lastConnected) {
      this.lastConnected = connected;
      return;
    }
    const uplink = uplinkState(this.cabinet);
    this.lastConnected = uplink.connected;
    this.broadcast('uplink', uplink);
  }

  /** Destroys the streams whose session has ended (see the module comment). */
  private checkSessions(): void {
    if (this.clients.size === 0) return;
    this.sessionChecks++;
    for (const client of [...this.clients]) {
      let valid: boolean;
      try {
        valid = this.validity.get(client)?.() ?? false;
      } catch {
        // The user's row could not be read (a store fault): fail closed; the browser reconnects
        // and the guard answers for the session then. A timer must not throw.
        valid = false;
      }
      if (!valid) {
        this.forget(client);
        client.destroy();
      }
    }
  }

  private heartbeat(): void {
    const bytes = Buffer.from(': heartbeat\n\n');
    for (const client of [...this.clients]) this.write(client, bytes);
  }
}

/** One SSE message: `event: <name>`, one `data:` line of JSON (JSON has no raw newline), a blank line. */
function message(name: string, data: unknown): Buffer {
  return Buffer.from(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** Registers GET /api/live; the hub starts with the app and ends its streams on close. */
export function registerLiveRoute(
  app: FastifyInstance,
  cabinet: CabinetPort,
  options: LiveOptions = {},
): LiveHub {
  const hub = new LiveHub(cabinet, options);
  hub.start();
  // preClose: before the server stops accepting, so no stream keeps close() waiting.
  app.addHook('preClose', (done) => {
    hub.stop();
    done();
  });
  app.get(
    '/api/live',
    {
      config: ACCESS,
      // No automatic HEAD route: it would run this handler and hold a slot unanswered.
      exposeHeadRoute: false,
      schema: {
        summary: 'Server-sent events: values, alarm changes, bus counters, uplink state, lighting actions',
        tags: ['live'],
        response: {
          200: { description: 'text/event-stream (LiveEvents in api-types.ts)', type: 'string' },
          ...errors(503),
        },
      },
    },
    async (request, reply) => {
      try {
        requireRunning(cabinet);
        // The guard (access.ts) gives every request on this non-public route its session; an app
        // without the guard (the data routes' own tests, cabinet-harness.ts) has none to check.
        const session = sessionOf(request);
        hub.attach(reply, session === null ? () => true : () => session.stillValid());
        return reply;
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );
  return hub;
}
