/**
 * `npm run bench -- connect-flood` (issue 12, findings 1 and 2): what a CONNECT flood costs the
 * cloud service. A real service runs in a child process (SQLite, embedded broker, an operator
 * account; test/integration/cloud-child.ts) so its RSS can be read from /proc. In the same run:
 * - the reference: operator login latency (POST /api/v1/auth/login, p99 over 20 logins) alone;
 * - ours: the same while 200 sockets send junk CONNECTs (unknown gateways, random secrets) again
 *   and again and 2 sockets announce 200 MiB packets without authenticating and keep sending
 *   their bodies slowly, reconnecting whenever closed;
 * - the service's RSS: its peak during the logins alone and its peak during the flood (each
 *   login's KDF takes its working memory in both, so peak is compared with peak).
 * Login is limited to 10 a minute per address (auth/routes.ts), a production default this does
 * not weaken: each login comes from its own loopback address (127.0.0.2, 127.0.0.3, ...), the
 * flood from 127.0.0.1.
 *
 * Options: --logins <n> (20), --junk <sockets> (200), --announcers <sockets> (2),
 *          --settle-ms <ms> (2000: flood time before the logins under flood start).
 * Ends with `RESULT connect-flood login_p99_ms=<a> login_p99_flood_ms=<b> ratio=<b/a>
 * rss_growth_mb=<c>`; required: ratio <= 3 and rss_growth_mb <= 64.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mqttPacket from 'mqtt-packet';
import { createOperator } from '../../cloud-sync/service/auth/operators.js';
import { openCloudDatabase } from '../../cloud-sync/service/db/open.js';
import { spawnTsx, type Child } from '../helpers/process.js';
import { fixedHeader } from '../cloud-sync/service/broker/helpers.js';
import { parseIntegerOptions } from './options.js';

const OPERATOR = 'bench.operator';
/** What the flood's announcers claim to send: 200 MiB (MQTT 3.1.1 section 2.2.3 allows 256 MiB). */
const ANNOUNCED_BYTES = 200 * 1024 * 1024;
/** The announcers' pace: this much every ANNOUNCER_PERIOD_MS, "slowly and continuously". */
const ANNOUNCER_CHUNK_BYTES = 64 * 1024;
const ANNOUNCER_PERIOD_MS = 10;

interface Options {
  logins: number;
  junk: number;
  announcers: number;
  settleMs: number;
}

/** Resident set size of a process, MiB (/proc/<pid>/status VmRSS, Linux). */
function rssMb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** The q-quantile by nearest rank (p99 of 20 samples is the largest). */
function quantile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** One login from `localAddress`; resolves with its latency in ms, rejects unless 200. */
function login(httpPort: number, localAddress: string, password: string): Promise<number> {
  const body = JSON.stringify({ username: OPERATOR, password });
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: httpPort,
        localAddress,
        method: 'POST',
        path: '/api/v1/auth/login',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => {
          if (res.statusCode === 200) resolve(performance.now() - started);
          else reject(new Error(`login from ${localAddress}: ${res.statusCode} ${text}`));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The i-th login address: 127.0.0.2 upward (the flood owns 127.0.0.1). */
function loginAddress(i: number): string {
  return `127.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;
}

async function loginSeries(
  httpPort: number,
  password: string,
  first: number,
  count: number,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) samples.push(await login(httpPort, loginAddress(first + i), password));
  return samples;
}

/** The flood's sockets; `stop()` ends every loop and resolves once they are all closed. */
class Flood {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly sockets = new Set<Socket>();
  connects = 0;
  bytesSent = 0;

  constructor(private readonly mqttPort: number) {}

  start(junk: number, announcers: number): void {
    for (let i = 0; i < junk; i++) this.loops.push(this.loop(() => this.junkConnect(i)));
    for (let i = 0; i < announcers; i++) this.loops.push(this.loop(() => this.announce()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.loops);
  }

  private async loop(once: () => Promise<void>): Promise<void> {
    while (!this.stopped) {
      await once();
      // A refused socket comes straight back, as an attacker's would; one tick keeps this
      // process's own loop turning.
      await sleep(1);
    }
  }

  /** Opens a socket; resolves when it closes, whoever closes it. */
  private open(onConnect: (socket: Socket) => void): Promise<void> {
    return new Promise((resolve) => {
      const socket = tcpConnect({ host: '127.0.0.1', port: this.mqttPort, localAddress: '127.0.0.1' });
      this.sockets.add(socket);
      this.connects += 1;
      socket.on('error', () => undefined);
      socket.once('connect', () => onConnect(socket));
      socket.once('close', () => {
        this.sockets.delete(socket);
        resolve();
      });
    });
  }

  /** A CONNECT of an unknown gateway with a random secret; closed by either side after the answer. */
  private junkConnect(i: number): Promise<void> {
    return this.open((socket) => {
      const packet = mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepalive: 60,
        clientId: `gw-junk-${i}`,
        username: `junk-${i}`,
        password: randomBytes(32),
      });
      socket.write(packet);
      this.bytesSent += packet.length;
      socket.once('data', () => socket.destroy());
    });
  }

  /** A CONNECT announcing 200 MiB, its body then sent slowly until the broker closes the socket. */
  private announce(): Promise<void> {
    return this.open((socket) => {
      const header = fixedHeader(0x10, ANNOUNCED_BYTES);
      socket.write(header);
      const chunk = Buffer.alloc(ANNOUNCER_CHUNK_BYTES, 0x41);
      let sent = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || sent >= ANNOUNCED_BYTES || this.stopped) {
          clearInterval(timer);
          socket.destroy();
          return;
        }
        // Only as fast as the broker reads: a paused socket fills the kernel's buffers, then waits.
        if (socket.writableNeedDrain) return;
        socket.write(chunk);
        sent += chunk.length;
        this.bytesSent += chunk.length;
      }, ANNOUNCER_PERIOD_MS);
      socket.once('close', () => clearInterval(timer));
    });
  }
}

async function prepare(dir: string, password: string): Promise<string> {
  const configFile = join(dir, 'cloud.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      database: { sqlitePath: 'cloud.sqlite' },
      mqtt: { embedded: { host: '127.0.0.1', port: 0 } },
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'warn' },
    }),
  );
  const db = await openCloudDatabase({ sqlitePath: join(dir, 'cloud.sqlite') });
  try {
    await createOperator(db, { username: OPERATOR, roles: ['dispatcher'], password }, new Date());
  } finally {
    await db.destroy();
  }
  return configFile;
}

export async function main(args: string[]): Promise<void> {
  const options = parseIntegerOptions<Options>(
    args,
    { logins: 20, junk: 200, announcers: 2, settleMs: 2000 },
    { '--logins': 'logins', '--junk': 'junk', '--announcers': 'announcers', '--settle-ms': 'settleMs' },
  );
  const dir = mkdtempSync(join(tmpdir(), 'kerbside-bench-flood-'));
  const password = randomBytes(18).toString('base64url');
  let child: Child | null = null;
  let flood: Flood | null = null;
  try {
    const configFile = await prepare(dir, password);
    child = spawnTsx('cloud', 'test/integration/cloud-child.ts', [configFile], { stdin: 'pipe' });
    const ready = await child.waitLine('READY', 60_000);
    const { mqttPort, httpPort } = JSON.parse(ready.slice('READY '.length)) as {
      mqttPort: number;
      httpPort: number;
    };
    const pid = child.proc.pid;
    if (pid === undefined) throw new Error('the service has no pid');

    // Warm-up (JIT, the password KDF's memory), from addresses the measured logins do not use.
    await loginSeries(httpPort, password, 200, 3);
    // RSS is sampled through both series: each login runs the password KDF, whose working memory
    // (scrypt, auth/passwords.ts) shows in RSS while it runs, so peak is compared with peak.
    let rssPeak = rssMb(pid);
    const sample = (): void => {
      rssPeak = Math.max(rssPeak, rssMb(pid));
    };
    let sampler = setInterval(sample, 50);
    const alone = await loginSeries(httpPort, password, 0, options.logins);
    clearInterval(sampler);
    sample();
    const rssBefore = rssPeak;

    flood = new Flood(mqttPort);
    flood.start(options.junk, options.announcers);
    sampler = setInterval(sample, 50);
    await sleep(options.settleMs);
    const underFlood = await loginSeries(httpPort, password, options.logins, options.logins);
    clearInterval(sampler);
    sample();
    const connects = flood.connects;
    const bytesSent = flood.bytesSent;
    await flood.stop();
    flood = null;

    const a = quantile(alone, 0.99);
    const b = quantile(underFlood, 0.99);
    const growth = Math.max(0, rssPeak - rssBefore);
    console.log(
      `logins alone: p50 ${quantile(alone, 0.5).toFixed(1)} ms, ` +
        `p99 ${a.toFixed(1)} ms; under flood: p50 ${quantile(underFlood, 0.5).toFixed(1)} ms, p99 ${b.toFixed(1)} ms`,
    );
    console.log(
      `flood: ${connects} connections (${options.junk} junk CONNECT sockets, ${options.announcers} announcing ` +
        `${ANNOUNCED_BYTES / 1024 / 1024} MiB), ${(bytesSent / 1024 / 1024).toFixed(1)} MiB written`,
    );
    console.log(
      `service RSS: ${rssBefore.toFixed(1)} MiB peak during the logins alone, ${rssPeak.toFixed(1)} MiB peak under flood`,
    );
    console.log(
      `RESULT connect-flood login_p99_ms=${a.toFixed(1)} login_p99_flood_ms=${b.toFixed(1)} ` +
        `ratio=${(b / a).toFixed(2)} rss_growth_mb=${growth.toFixed(1)}`,
    );
  } finally {
    await flood?.stop();
    await child?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
