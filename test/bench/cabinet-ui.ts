/**
 * `npm run bench -- cabinet-ui` (issue 13, "Benchmark"): the cabinet web UI's device page and what
 * serving it costs the gateway.
 *
 * Set-up, as on a cabinet: a manhole cover (anjing-mc200: 10 numeric points) on an RS-485 line at
 * 115200 8E1, simulated by the simulator CLI in a child process on a socat pseudo-terminal pair,
 * polled every 100 ms by the gateway in another child process, so its RSS is its own
 * (/proc/<pid>/status VmRSS). The gateway is the production build started as production starts
 * it (docs/deployment.md: tsc output, `npm run start:gateway`). Before it starts, kerbside.db gets
 * 24 hours of 1-second readings of those 10 points with their minute and hour aggregates
 * (cabinet-ui-seed.ts), under the same device id and point keys, so the page shows the seeded day
 * followed by live data. The web UI is HTTPS (the default) on 127.0.0.1, port 0 (the kernel's
 * pick, read from the setup link). The admin is made the way an installer makes it: the one-time
 * setup link the gateway logs at warn, its token POSTed to /api/setup, then a sign-in.
 *
 * The line is busy nearly all the time (the profile's relay wants 50 ms after each answer, so two
 * requests per poll take longer than the 100 ms interval): every millisecond the gateway's event
 * loop is late shows as fewer transactions, which makes the cadence a sensitive measure.
 *
 * Measured, each against its reference in the same run (ARCHITECTURE.md, "Benchmarks"):
 * - first_chart_ms: Chromium (test/helpers/browser.ts), a fresh context (empty cache) per run,
 *   signed in (the session cookie of one sign-in added to the context), navigating to
 *   `/#/devices/<id>`; the time from navigation start to the chart wrapper's performance mark
 *   `kerbside:first-chart` (ui/kit/chart.tsx, set when uPlot has drawn the first chart with data).
 *   One warm-up load first (printed, not counted: the server's first answers after start), then
 *   the median of --runs loads; the requests of the median load are listed with their times.
 * - bytes: what that load transferred, compressed, headers included (the Chrome DevTools
 *   Protocol's encodedDataLength per request: at loadingFinished, or for a request still open,
 *   such as the live stream, what it had received), from navigation until the chart is drawn and
 *   the network is quiet (no request but the live stream in flight for 500 ms). Median of the runs.
 * - cadence_ratio: the bus's transactions per second (GET /api/bus, the device's `transactions`
 *   counter) with --clients live clients, divided by the same with none, over --rounds pairs of
 *   windows (none, then clients; --window-s in all on each side) so that the load of this shared
 *   machine changing falls on both sides alike. Live clients are Node HTTPS clients (not browsers:
 *   20 Chromium pages would load this machine far more than the gateway), each on its own socket
 *   with the session cookie, reading /api/live (server-sent events) as fast as they come;
 *   connected before each window with clients until each has its `hello` and a `bus` event.
 * - rss_mb: the gateway's RSS sampled every 250 ms through the windows with clients, maximum; the
 *   same through the windows without clients is printed beside it, and the RSS before and after
 *   the page loads, each split into anonymous and file-backed memory. The gateway's CPU share in
 *   both kinds of window is printed too.
 *
 * Options: --clients <n> (20), --window-s <s> (30), --rounds <n> (3), --runs <n> (5).
 * Ends with `RESULT cabinet-ui first_chart_ms=<x> bytes=<y> rss_mb=<z> cadence_ratio=<c>`;
 * required: first_chart_ms <= 800, bytes <= 300000, rss_mb <= 150, cadence_ratio >= 0.95. A
 * missed threshold is reported (FAIL above the RESULT line), not an error: the exit code is
 * non-zero only when the benchmark itself could not run. Needs socat and /usr/bin/chromium
 * (test/install-peers.sh).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { BusDiagnostics, DeviceDetail, Trend } from '../../gateway/web/api-types.js';
import { TLS_DIR } from '../../gateway/web/certificate.js';
import { launchChromium, openPage } from '../helpers/browser.js';
import { FAST_SERIAL } from '../helpers/bus-harness.js';
import { shippedProfiles, writeConfigFile } from '../helpers/gateway-harness.js';
import { requireCommand } from '../helpers/peers.js';
import { REPO, run, spawnProcess, spawnTsx, type Child } from '../helpers/process.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { seedDayOfReadings } from './cabinet-ui-seed.js';
import { parseIntegerOptions } from './options.js';

interface Options {
  clients: number;
  windowS: number;
  rounds: number;
  runs: number;
}

const DEVICE_ID = 'manhole-1';
const PROFILE_ID = 'anjing-mc200';
const BUS_ID = 'rs485-1';
/** Shorter than one poll takes (two requests, each followed by the relay's 50 ms): the line never idles. */
const POLL_INTERVAL_MS = 100;
const ADMIN = 'bench.admin';
/** The quiet time after the last request that counts as "the page is idle". */
const IDLE_MS = 500;
const RSS_SAMPLE_MS = 250;

const THRESHOLDS = {
  firstChartMs: 800,
  bytes: 300_000,
  rssMb: 150,
  cadenceRatio: 0.95,
} as const;

// --- small helpers ------------------------------------------------------------------------------

interface Memory {
  /** VmRSS, MiB: what the threshold is on. */
  rss: number;
  /** Its anonymous part (heaps, malloc) and its file-backed part (node's code, mapped libraries). */
  anon: number;
  file: number;
}

/** Resident set size of a process, MiB (/proc/<pid>/status VmRSS, RssAnon, RssFile; Linux). */
function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (match === null) throw new Error(`no ${name} for pid ${pid}`);
    return Number(match[1]) / 1024;
  };
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

/** The machine's 1-minute load average (/proc/loadavg): the windows' context on a shared machine. */
function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';
}

function describeMemory(m: Memory): string {
  return `${m.rss.toFixed(1)} MiB (anon ${m.anon.toFixed(1)}, file ${m.file.toFixed(1)})`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) throw new Error('median of nothing');
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The index of the run whose value is the (lower) median, to show its details. */
function medianIndex(values: readonly number[]): number {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  return order[Math.floor((order.length - 1) / 2)]?.i ?? 0;
}

// --- the cabinet's HTTPS API from Node ----------------------------------------------------------

/**
 * The gateway's web API over HTTPS, trusting only the cabinet's own certificate (read from its
 * data folder, as a technician compares the fingerprint), with the session cookie once signed in.
 */
class CabinetApi {
  cookie: string | null = null;

  constructor(
    readonly origin: string,
    private readonly ca: string,
  ) {}

  options(method: string, path: string, headers: Record<string, string> = {}): RequestOptions {
    const url = new URL(path, this.origin);
    return {
      host: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method,
      ca: this.ca,
      // One socket per request or stream: no pooling between the live clients.
      agent: false,
      headers: { ...(this.cookie === null ? {} : { cookie: this.cookie }), ...headers },
    };
  }

  /** One request; resolves with the status, the Set-Cookie headers and the body as text. */
  send(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; setCookie: string[]; text: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // An unsafe method must come from the cabinet's own origin (docs/auth.md, the CSRF check).
    const headers: Record<string, string> =
      payload === undefined
        ? {}
        : {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(payload)),
            origin: new URL(this.origin).origin,
          };
    return new Promise((resolve, reject) => {
      const req = httpsRequest(this.options(method, path, headers), (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [], text }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.send(method, path, body);
    if (answer.status < 200 || answer.status > 299)
      throw new Error(`${method} ${path}: ${answer.status} ${answer.text}`);
    return (answer.text === '' ? undefined : JSON.parse(answer.text)) as T;
  }

  /** The first admin through the setup link's token, then a sign-in; keeps the session cookie. */
  async makeAdminAndSignIn(token: string, password: string): Promise<{ name: string; value: string }> {
    await this.json('POST', '/api/setup', { token, username: ADMIN, password });
    const login = await this.send('POST', '/api/login', { username: ADMIN, password });
    if (login.status !== 200) throw new Error(`sign-in: ${login.status} ${login.text}`);
    const pair = login.setCookie[0]?.split(';')[0];
    const eq = pair?.indexOf('=') ?? -1;
    if (pair === undefined || eq < 1)
      throw new Error(`sign-in set no cookie: ${login.setCookie.join(' | ')}`);
    this.cookie = pair;
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
  }

  /** The seeded device's line counters (transactions, failures), read from GET /api/bus. */
  async deviceCounters(): Promise<{ transactions: number; failures: number }> {
    const bus = await this.json<BusDiagnostics>('GET', '/api/bus');
    const device = bus.buses.flatMap((b) => b.devices).find((d) => d.deviceId === DEVICE_ID);
    if (device === undefined) throw new Error(`GET /api/bus has no ${DEVICE_ID}`);
    return {
      transactions: device.transactions,
      failures: device.timeouts + device.crcErrors + device.exceptions + device.otherErrors,
    };
  }
}

// --- live clients -------------------------------------------------------------------------------

/** One reader of /api/live: counts bytes and events by name; reconnects are not expected. */
class LiveClient {
  bytes = 0;
  readonly events = new Map<string, number>();
  ended = false;
  private response: IncomingMessage | null = null;
  private buffered = '';
  private readonly request;

  constructor(api: CabinetApi) {
    this.request = httpsRequest(api.options('GET', '/api/live', { accept: 'text/event-stream' }), (res) => {
      this.response = res;
      if (res.statusCode !== 200) {
        this.ended = true;
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => this.read(chunk));
      res.on('close', () => (this.ended = true));
    });
    this.request.on('error', () => (this.ended = true));
    this.request.end();
  }

  get status(): number | null {
    return this.response?.statusCode ?? null;
  }

  count(name: string): number {
    return this.events.get(name) ?? 0;
  }

  /** Server-sent events (WHATWG HTML, "Server-sent events"): blocks end with a blank line. */
  private read(chunk: string): void {
    this.bytes += Buffer.byteLength(chunk);
    this.buffered += chunk;
    let end = this.buffered.indexOf('\n\n');
    while (end >= 0) {
      const block = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 2);
      const name = /^event: ?(.*)$/m.exec(block)?.[1];
      if (name !== undefined) this.events.set(name, this.count(name) + 1);
      end = this.buffered.indexOf('\n\n');
    }
  }

  close(): void {
    this.request.destroy();
  }
}

// --- the page load in Chromium ------------------------------------------------------------------

interface RequestRecord {
  url: string;
  type: string;
  status: number | null;
  contentEncoding: string | null;
  /** Compressed bytes received, headers included. */
  encoded: number;
  /** Bytes after decompression (body only). */
  decoded: number;
  finished: boolean;
  /** From navigation start, by the page's own Resource Timing (null: still open, the live stream). */
  startMs: number | null;
  endMs: number | null;
}

interface PageLoad {
  firstChartMs: number;
  bytes: number;
  requests: RequestRecord[];
  /** Navigation timing of the document, ms from navigation start. */
  timing: { responseEnd: number; domContentLoaded: number; load: number };
  pageErrors: string[];
}

/**
 * Records every request of the page over the DevTools Protocol: its compressed size
 * (encodedDataLength: the bytes on the wire, headers included) and when it started and ended.
 */
async function recordNetwork(
  context: BrowserContext,
  page: Page,
): Promise<{ records: Map<string, RequestRecord>; lastActivity: () => number }> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const records = new Map<string, RequestRecord>();
  let lastActivity = performance.now();
  cdp.on('Network.requestWillBeSent', (event) => {
    lastActivity = performance.now();
    records.set(event.requestId, {
      url: event.request.url,
      type: event.type ?? 'Other',
      status: null,
      contentEncoding: null,
      encoded: 0,
      decoded: 0,
      finished: false,
      startMs: null,
      endMs: null,
    });
  });
  cdp.on('Network.responseReceived', (event) => {
    const record = records.get(event.requestId);
    if (record === undefined) return;
    record.status = event.response.status;
    const headers = Object.fromEntries(
      Object.entries(event.response.headers).map(([k, v]) => [k.toLowerCase(), v]),
    );
    record.contentEncoding = headers['content-encoding'] ?? null;
    // The headers' bytes so far; dataReceived adds the body's.
    record.encoded = Math.max(record.encoded, event.response.encodedDataLength);
  });
  cdp.on('Network.dataReceived', (event) => {
    const record = records.get(event.requestId);
    if (record === undefined) return;
    record.encoded += event.encodedDataLength;
    record.decoded += event.dataLength;
  });
  cdp.on('Network.loadingFinished', (event) => {
    lastActivity = performance.now();
    const record = records.get(event.requestId);
    if (record === undefined) return;
    record.finished = true;
    // The total on the wire, headers included, for the whole response.
    record.encoded = Math.max(record.encoded, event.encodedDataLength);
  });
  cdp.on('Network.loadingFailed', (event) => {
    lastActivity = performance.now();
    const record = records.get(event.requestId);
    if (record === undefined) return;
    record.finished = true;
  });
  return { records, lastActivity: () => lastActivity };
}

async function loadDevicePage(
  browser: Browser,
  origin: string,
  cookie: { name: string; value: string },
): Promise<PageLoad> {
  const recorded = await openPage(browser, origin);
  const { context, page } = recorded;
  try {
    // Signed in before the navigation: the cookie of the Node sign-in (HttpOnly, Secure, __Host-).
    await context.addCookies([{ name: cookie.name, value: cookie.value, url: origin }]);
    const network = await recordNetwork(context, page);
    await page.goto(`/#/devices/${encodeURIComponent(DEVICE_ID)}`, { waitUntil: 'commit' });
    await page.waitForSelector('[data-drawn="1"]', { timeout: 30_000 });
    const firstChartMs = await page.evaluate(
      (name) => performance.getEntriesByName(name)[0]?.startTime ?? null,
      'kerbside:first-chart',
    );
    if (firstChartMs === null)
      throw new Error('the chart is drawn but the page set no kerbside:first-chart mark');
    // Idle: nothing in flight but the live stream (it never ends) and IDLE_MS of quiet.
    await waitFor(
      'the device page to be idle',
      () => {
        const busy = [...network.records.values()].some(
          (r) => !r.finished && r.type !== 'EventSource' && !r.url.startsWith('data:'),
        );
        return !busy && performance.now() - network.lastActivity() >= IDLE_MS;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    // Strings: the navigation and resource entries' DOM types are not in this (Node) project's libraries.
    const timing = (await page.evaluate(`(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        responseEnd: nav?.responseEnd ?? 0,
        domContentLoaded: nav?.domContentLoadedEventEnd ?? 0,
        load: nav?.loadEventEnd ?? 0,
      };
    })()`)) as PageLoad['timing'];
    const entries = (await page.evaluate(
      `[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
        .map((e) => ({ name: e.name, start: e.startTime, end: e.responseEnd }))`,
    )) as Array<{ name: string; start: number; end: number }>;
    const requests = [...network.records.values()].filter((r) => !r.url.startsWith('data:'));
    for (const request of requests) {
      // The navigation entry's name keeps the URL's fragment, which the request line never has.
      const entry = entries.find((e) => e.name.split('#')[0] === request.url);
      if (entry === undefined) continue;
      request.startMs = entry.start;
      request.endMs = entry.end;
    }
    return {
      firstChartMs,
      bytes: requests.reduce((sum, r) => sum + r.encoded, 0),
      requests,
      timing,
      pageErrors: recorded.pageErrors,
    };
  } finally {
    await context.close();
  }
}

/** The requests of one load with their times from navigation start, and the chart's mark. */
function describeRequests(load: PageLoad, origin: string): string {
  const ms = (value: number | null): string => (value === null ? 'open' : value.toFixed(0));
  const rows = load.requests.map((r) => {
    const path = r.url.startsWith(origin) ? r.url.slice(origin.length - 1) : r.url;
    return (
      `    ${String(r.status ?? '-').padEnd(7)}${r.type.padEnd(12)}${String(r.encoded).padStart(8)} B` +
      `${String(r.decoded).padStart(9)} B  ${(r.contentEncoding ?? '-').padEnd(5)}` +
      `${`${ms(r.startMs)} - ${ms(r.endMs)} ms`.padEnd(16)}${path}`
    );
  });
  return [
    '    status type        on the wire   decoded  enc  from navigation request',
    ...rows,
    `    first chart drawn at ${load.firstChartMs.toFixed(0)} ms`,
  ].join('\n');
}

// --- the gateway under measurement ---------------------------------------------------------------

/**
 * The gateway as production runs it (docs/deployment.md): compiled by `tsc -p tsconfig.build.json`
 * into `<dir>/dist`, beside package.json and device-profiles/, with this checkout's node_modules
 * and its freshly built dist/ui linked in, then started with `npm run start:gateway`, so the
 * measurement takes whatever node flags and environment that script gives it. Not through tsx:
 * its loader keeps the transformed sources and their source maps in memory (about 30 MiB more
 * RSS), which a cabinet does not run. Returns the folder.
 */
async function buildProductionGateway(dir: string): Promise<string> {
  const started = performance.now();
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = await run(
    process.execPath,
    [tsc, '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')],
    { timeoutMs: 300_000 },
  );
  if (!existsSync(join(dir, 'dist', 'gateway', 'main.js')))
    throw new Error(`tsc -p tsconfig.build.json emitted no gateway:\n${build.stdout}${build.stderr}`);
  // tsc emits despite type errors: someone's edit in progress elsewhere need not stop a measurement.
  if (build.code !== 0)
    console.log(`warning: tsc reported errors; measuring what it emitted:\n${build.stdout.slice(0, 2000)}`);
  copyFileSync(join(REPO, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(REPO, 'device-profiles'), join(dir, 'device-profiles'));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'dist'), { recursive: true });
  symlinkSync(join(REPO, 'dist', 'ui'), join(dir, 'dist', 'ui'));
  const script = (
    JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts['start:gateway'];
  console.log(
    `built the gateway (tsc) in ${((performance.now() - started) / 1000).toFixed(1)} s; started as ` +
      `npm run start:gateway: ${script}`,
  );
  return dir;
}

interface Cabinet {
  /** The simulator CLI (`npm run sim`'s program) serving the RS-485 line. */
  simulator: Child;
  /** npm, which runs the gateway (`exec node ...`: npm, then node). */
  npm: Child;
  /** The gateway's node process, from its log's pid field. */
  pid: number;
  api: CabinetApi;
  cookie: { name: string; value: string };
  metricsPort: number;
}

/**
 * The manhole cover on its RS-485 line, in a child process of its own (the simulator CLI) so the
 * live clients of this process never delay its answers. Resolves with the line's gateway end.
 */
async function startSimulator(): Promise<{ simulator: Child; path: string }> {
  requireCommand('socat', 'socat');
  const simulator = spawnTsx('simulator', 'simulators/cli.ts', [
    ...['--profile', `manhole-cover/${PROFILE_ID}`, '--unit', '1', '--pty'],
    ...['--baud', String(FAST_SERIAL.baudRate), '--parity', FAST_SERIAL.parity],
  ]);
  try {
    const ready = await simulator.waitForOutput(/gateway connects to: (\/dev\/\S+) \(pty pair/, {
      stream: 'stdout',
      timeoutMs: 30_000,
    });
    return { simulator, path: ready[1] as string };
  } catch (error) {
    await simulator.kill9();
    throw error;
  }
}

async function startCabinet(dir: string, buildDir: string): Promise<Cabinet> {
  const profile = shippedProfiles().get(PROFILE_ID);
  if (profile === undefined) throw new Error(`no profile ${PROFILE_ID}`);
  const pointKeys = profile.points.filter((p) => p.type !== 'bool').map((p) => p.key);
  const dataDir = join(dir, 'data');
  const seedStarted = performance.now();
  const seeded = seedDayOfReadings({ dataDir, deviceId: DEVICE_ID, pointKeys });
  console.log(
    `seeded ${seeded} readings (24 h x 1 s x ${pointKeys.length} points: ${pointKeys.join(', ')}) ` +
      `in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
  );

  const metricsPort = await freePort();
  const { simulator, path } = await startSimulator();
  try {
    const document = {
      gatewayId: 'gw-bench-ui',
      site: { name: 'cabinet-ui benchmark' },
      dataDir,
      log: { level: 'warn' },
      // HTTPS (the default) on loopback; port 0: the kernel picks, the setup link says which.
      web: { host: '127.0.0.1', port: 0 },
      // On, as by default, but on a free port: other gateways on this machine may hold 9464. Its
      // event-loop delay says whether a slow answer was the gateway's doing or the machine's.
      metrics: { port: metricsPort },
      buses: [{ id: BUS_ID, kind: 'rtu', path, serial: FAST_SERIAL }],
      devices: [
        { id: DEVICE_ID, bus: BUS_ID, unitId: 1, profile: PROFILE_ID, pollIntervalMs: POLL_INTERVAL_MS },
      ],
    };
    const npm = spawnProcess(
      'gateway',
      'npm',
      ['run', '--silent', 'start:gateway', '--', '--config', writeConfigFile(dir, document)],
      // Nothing of this process's NODE_OPTIONS (tsx) or LOG_LEVEL reaches it.
      { cwd: buildDir, unset: ['NODE_OPTIONS', 'LOG_LEVEL'] },
    );
    let pid: number | null = null;
    try {
      // The one warn line with the setup link (gateway/web/server.ts), as an installer reads it;
      // pino's pid field on it is node's own pid (npm stays in between; docs/deployment.md).
      const link = await npm.waitForOutput(
        /"pid":(\d+)[^\n]*(https:\/\/127\.0\.0\.1:\d+\/)#\/setup\?token=([A-Za-z0-9_-]+)/,
        { timeoutMs: 60_000 },
      );
      pid = Number(link[1]);
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dist/gateway/main.js'))
        throw new Error(`pid ${pid} of the gateway's log is not dist/gateway/main.js`);
      const origin = link[2] as string;
      const ca = readFileSync(join(dataDir, TLS_DIR, 'cert.pem'), 'utf8');
      const api = new CabinetApi(origin, ca);
      const cookie = await api.makeAdminAndSignIn(link[3] as string, randomBytes(18).toString('base64url'));
      // Polling: the device has answered (its counters move), and the page has points to show.
      await waitFor(
        'the seeded device to be polled',
        async () => (await api.deviceCounters()).transactions > 10,
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      const detail = await api.json<DeviceDetail>('GET', `/api/devices/${DEVICE_ID}`);
      console.log(
        `gateway pid ${pid} at ${origin}: ${DEVICE_ID} (${PROFILE_ID}, ${detail.points.length} points) ` +
          `polled every ${POLL_INTERVAL_MS} ms on ${BUS_ID} (RTU on ${path}, 115200 8E1; the simulator in its own process)`,
      );
      // What the page will show: the seeded history ends where the live readings begin.
      for (const range of ['1h', '24h'] as const) {
        const trend = await api.json<Trend>(
          'GET',
          `/api/devices/${DEVICE_ID}/trend?point=${pointKeys[0] ?? ''}&range=${range}`,
        );
        const first = trend.t[0];
        const last = trend.t[trend.t.length - 1];
        if (first === undefined || last === undefined) throw new Error(`the ${range} trend is empty`);
        console.log(
          `trend ${range}: ${trend.t.length} points (${trend.resolution}) from ` +
            `${((Date.now() - first) / 60_000).toFixed(0)} min ago to ${((Date.now() - last) / 1000).toFixed(0)} s ago`,
        );
      }
      return { simulator, npm, pid, api, cookie, metricsPort };
    } catch (error) {
      if (pid !== null) process.kill(pid, 'SIGKILL');
      await npm.kill9();
      throw error;
    }
  } catch (error) {
    await simulator.kill9();
    throw error;
  }
}

async function stopCabinet(cabinet: Cabinet): Promise<void> {
  // SIGTERM to node: a clean stop (web UI, then the gateway, the store flushed), npm then exits;
  // SIGKILL to both if that hangs.
  const { npm, pid } = cabinet;
  const timer = setTimeout(() => {
    if (npm.alive) process.kill(pid, 'SIGKILL');
    npm.proc.kill('SIGKILL');
  }, 20_000);
  if (npm.alive) process.kill(pid, 'SIGTERM');
  await npm.exited;
  clearTimeout(timer);
  const simulatorTimer = setTimeout(() => cabinet.simulator.proc.kill('SIGKILL'), 10_000);
  await cabinet.simulator.signal('SIGTERM');
  clearTimeout(simulatorTimer);
}

/** CPU time a process has used, seconds (/proc/<pid>/stat utime + stime, in USER_HZ = 100 ticks). */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After the command name in parentheses: state is the first field, utime the 12th, stime the 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * The gateway's event-loop delay since the previous call, ms: its own Prometheus metrics
 * (prom-client's nodejs_eventloop_lag_*, from perf_hooks.monitorEventLoopDelay, whose histogram
 * is reset at each scrape). About 10 ms is an idle loop (the monitor's resolution).
 */
function loopLag(cabinet: Cabinet): Promise<{ p99Ms: number; maxMs: number }> {
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port: cabinet.metricsPort, path: '/metrics' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const p99 = metricValue(text, 'kerbside_nodejs_eventloop_lag_p99_seconds');
        const max = metricValue(text, 'kerbside_nodejs_eventloop_lag_max_seconds');
        if (p99 === null || max === null)
          reject(new Error(`no event-loop delay in /metrics (${res.statusCode})`));
        else resolve({ p99Ms: p99 * 1000, maxMs: max * 1000 });
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** One sample's value in the Prometheus text format, null when absent. */
function metricValue(text: string, name: string): number | null {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return match === null ? null : Number(match[1]);
}

/** One side's windows added up: the bus's transactions, the gateway's CPU time and RSS samples. */
class Tally {
  transactions = 0;
  failures = 0;
  seconds = 0;
  cpuSeconds = 0;
  /** The gateway's largest event-loop delay in any of the windows, ms. */
  loopLagMaxMs = 0;
  rssMax: Memory = { rss: 0, anon: 0, file: 0 };
  private rssSum = 0;
  private rssCount = 0;

  get transactionsPerS(): number {
    return this.transactions / this.seconds;
  }

  get cpuPercent(): number {
    return (100 * this.cpuSeconds) / this.seconds;
  }

  get rssMeanMb(): number {
    return this.rssSum / this.rssCount;
  }

  addSample(m: Memory): void {
    if (m.rss > this.rssMax.rss) this.rssMax = m;
    this.rssSum += m.rss;
    this.rssCount += 1;
  }
}

/** Measures one window of `seconds` into `tally`; returns the window's transactions per second. */
async function measureWindow(cabinet: Cabinet, seconds: number, tally: Tally): Promise<number> {
  const sample = (): void => tally.addSample(memoryOf(cabinet.pid));
  sample();
  const sampler = setInterval(sample, RSS_SAMPLE_MS);
  try {
    const before = await cabinet.api.deviceCounters();
    const cpuBefore = cpuSecondsOf(cabinet.pid);
    await loopLag(cabinet);
    const startedAt = performance.now();
    await sleep(seconds * 1000);
    const after = await cabinet.api.deviceCounters();
    tally.loopLagMaxMs = Math.max(tally.loopLagMaxMs, (await loopLag(cabinet)).maxMs);
    const elapsedS = (performance.now() - startedAt) / 1000;
    tally.cpuSeconds += cpuSecondsOf(cabinet.pid) - cpuBefore;
    tally.transactions += after.transactions - before.transactions;
    tally.failures += after.failures - before.failures;
    tally.seconds += elapsedS;
    return (after.transactions - before.transactions) / elapsedS;
  } finally {
    clearInterval(sampler);
  }
}

/** `count` live clients, resolved once each has its hello and a bus event (sent every 2 s). */
async function connectClients(api: CabinetApi, count: number): Promise<LiveClient[]> {
  const clients = Array.from({ length: count }, () => new LiveClient(api));
  try {
    await waitFor(
      `${count} live clients to receive hello and a bus event`,
      () => {
        const refused = clients.find((c) => c.status !== null && c.status !== 200);
        if (refused !== undefined) throw new Error(`GET /api/live answered ${refused.status}`);
        return clients.every((c) => c.count('hello') === 1 && c.count('bus') >= 1);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    return clients;
  } catch (error) {
    for (const client of clients) client.close();
    throw error;
  }
}

// --- main ---------------------------------------------------------------------------------------

function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'FAIL';
}

export async function main(args: string[]): Promise<void> {
  const options = parseIntegerOptions<Options>(
    args,
    { clients: 20, windowS: 30, rounds: 3, runs: 5 },
    { '--clients': 'clients', '--window-s': 'windowS', '--rounds': 'rounds', '--runs': 'runs' },
  );
  const started = performance.now();
  // The bundle measured is the current ui/ (skipped when unchanged; docs/ui.md, "Build").
  const build = await run(process.execPath, [join(REPO, 'scripts', 'ensure-ui.mjs')], { timeoutMs: 300_000 });
  if (build.code !== 0) throw new Error(`the web UI did not build:\n${build.stderr}`);

  const dir = mkdtempSync(join(tmpdir(), 'kerbside-bench-ui-'));
  let cabinet: Cabinet | null = null;
  let browser: Browser | null = null;
  try {
    cabinet = await startCabinet(dir, await buildProductionGateway(join(dir, 'build')));
    const { api } = cabinet;
    const atStart = memoryOf(cabinet.pid);

    // 1. The page load, in Chromium: one warm-up, then --runs fresh contexts.
    browser = await launchChromium();
    await loopLag(cabinet);
    const warmup = await loadDevicePage(browser, api.origin, cabinet.cookie);
    console.log(
      `warm-up load (not counted): first chart ${warmup.firstChartMs.toFixed(0)} ms, ${warmup.bytes} B`,
    );
    const loads: PageLoad[] = [];
    for (let run = 1; run <= options.runs; run++) {
      await loopLag(cabinet);
      const cpuBefore = cpuSecondsOf(cabinet.pid);
      const load = await loadDevicePage(browser, api.origin, cabinet.cookie);
      const cpuMs = (cpuSecondsOf(cabinet.pid) - cpuBefore) * 1000;
      const lag = await loopLag(cabinet);
      loads.push(load);
      console.log(
        `load ${run}: first chart ${load.firstChartMs.toFixed(0)} ms (document ${load.timing.responseEnd.toFixed(
          0,
        )} ms, DOMContentLoaded ${load.timing.domContentLoaded.toFixed(0)} ms; gateway CPU ${cpuMs.toFixed(0)} ms, ` +
          `loop delay max ${lag.maxMs.toFixed(0)} ms, p99 ${lag.p99Ms.toFixed(0)} ms), ${load.bytes} B in ` +
          `${load.requests.length} requests${load.pageErrors.length > 0 ? `, page errors: ${load.pageErrors.join(' | ')}` : ''}`,
      );
    }
    await browser.close();
    browser = null;
    const afterLoads = memoryOf(cabinet.pid);
    const firstChartMs = median(loads.map((l) => l.firstChartMs));
    const bytes = median(loads.map((l) => l.bytes));
    const shown = loads[medianIndex(loads.map((l) => l.firstChartMs))] as PageLoad;
    console.log(`requests of the median load (by first chart):\n${describeRequests(shown, api.origin)}`);

    // 2. Cadence and RSS in --rounds pairs of windows, without clients then with --clients, each
    //    --window-s / --rounds long: the machine is shared, and a change in its load then falls on
    //    both sides alike instead of on one.
    const alone = new Tally();
    const served = new Tally();
    const windowS = options.windowS / options.rounds;
    let streamed = 0;
    let valuesEvents = 0;
    let dropped = 0;
    for (let round = 1; round <= options.rounds; round++) {
      const aloneRate = await measureWindow(cabinet, windowS, alone);
      const clients = await connectClients(api, options.clients);
      let servedRate: number;
      try {
        const bytesBefore = clients.reduce((sum, c) => sum + c.bytes, 0);
        const valuesBefore = clients.reduce((sum, c) => sum + c.count('values'), 0);
        servedRate = await measureWindow(cabinet, windowS, served);
        streamed += clients.reduce((sum, c) => sum + c.bytes, 0) - bytesBefore;
        valuesEvents += clients.reduce((sum, c) => sum + c.count('values'), 0) - valuesBefore;
        dropped += clients.filter((c) => c.ended).length;
      } finally {
        for (const client of clients) client.close();
      }
      console.log(
        `round ${round}: ${aloneRate.toFixed(2)} transactions/s without clients, ${servedRate.toFixed(2)} with ` +
          `${options.clients} (${windowS.toFixed(1)} s each; load average ${loadAverage()})`,
      );
    }

    const cadenceRatio = served.transactionsPerS / alone.transactionsPerS;
    const valuesPerClient = valuesEvents / options.clients;
    const rss = served.rssMax.rss;
    const runtimeS = (performance.now() - started) / 1000;

    const rows: Array<[string, string, string, string]> = [
      ['figure', 'ours', 'reference', 'required'],
      [
        'first chart (median), ms',
        firstChartMs.toFixed(0),
        `runs ${loads.map((l) => l.firstChartMs.toFixed(0)).join(', ')}`,
        `<= ${THRESHOLDS.firstChartMs}`,
      ],
      [
        'bytes transferred (median), B',
        bytes.toFixed(0),
        `runs ${loads.map((l) => l.bytes).join(', ')}`,
        `<= ${THRESHOLDS.bytes}`,
      ],
      [
        'gateway RSS (max), MiB',
        `${rss.toFixed(1)} (${options.clients} clients)`,
        `${alone.rssMax.rss.toFixed(1)} (no client)`,
        `<= ${THRESHOLDS.rssMb}`,
      ],
      [
        'bus transactions/s',
        `${served.transactionsPerS.toFixed(2)} (${options.clients} clients)`,
        `${alone.transactionsPerS.toFixed(2)} (no client)`,
        `ratio >= ${THRESHOLDS.cadenceRatio}`,
      ],
    ];
    const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
    for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
    console.log(
      `windows: ${alone.transactions} transactions in ${alone.seconds.toFixed(1)} s (${alone.failures} failed), ` +
        `gateway CPU ${alone.cpuPercent.toFixed(1)} %, loop delay max ${alone.loopLagMaxMs.toFixed(0)} ms without ` +
        `clients; ${served.transactions} in ${served.seconds.toFixed(1)} s (${served.failures} failed), CPU ` +
        `${served.cpuPercent.toFixed(1)} %, loop delay max ${served.loopLagMaxMs.toFixed(0)} ms with ` +
        `${options.clients}; mean RSS ${alone.rssMeanMb.toFixed(1)} / ${served.rssMeanMb.toFixed(1)} MiB`,
    );
    console.log(
      `gateway RSS: ${describeMemory(atStart)} polling, before any page; ${describeMemory(afterLoads)} after ` +
        `${options.runs + 1} page loads; max ${describeMemory(alone.rssMax)} without clients, ` +
        `${describeMemory(served.rssMax)} with ${options.clients}`,
    );
    console.log(
      `live clients: Node HTTPS clients, one socket each; ${(streamed / 1024).toFixed(1)} KiB streamed to them in ` +
        `the windows, ${valuesPerClient.toFixed(0)} values events each, ${dropped} dropped`,
    );
    console.log(`run time ${runtimeS.toFixed(0)} s`);
    console.log(
      `${verdict(firstChartMs <= THRESHOLDS.firstChartMs)} first_chart_ms <= ${THRESHOLDS.firstChartMs}`,
    );
    console.log(`${verdict(bytes <= THRESHOLDS.bytes)} bytes <= ${THRESHOLDS.bytes}`);
    console.log(`${verdict(rss <= THRESHOLDS.rssMb)} rss_mb <= ${THRESHOLDS.rssMb}`);
    console.log(
      `${verdict(cadenceRatio >= THRESHOLDS.cadenceRatio)} cadence_ratio >= ${THRESHOLDS.cadenceRatio}`,
    );
    console.log(
      `RESULT cabinet-ui first_chart_ms=${firstChartMs.toFixed(0)} bytes=${bytes.toFixed(0)} ` +
        `rss_mb=${rss.toFixed(1)} cadence_ratio=${cadenceRatio.toFixed(3)}`,
    );
  } finally {
    await browser?.close();
    if (cabinet !== null) await stopCabinet(cabinet);
    rmSync(dir, { recursive: true, force: true });
  }
}
