/**
 * The crash harness of the system tests: the child programs (gateway-child.ts, cloud-child.ts),
 * started as processes (test/helpers/process.ts) so that they can be killed with SIGKILL, a real
 * mosquitto, the ledger collected from the gateways' stdout, and the crash loop shared by
 * crash-loop.test.ts and test/soak/uplink-soak.ts.
 *
 * Every child reads its stdin: closing it asks for a clean stop, and if this process dies (even by
 * SIGKILL) the pipe closes and the child ends by itself, so no child outlives its test for long.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkDeployment,
  gatewayDrained,
  parseLedgerLine,
  type InvariantReport,
  type LedgerEntry,
} from './invariants.js';
import { canConnect, freePort } from '../helpers/net.js';
import { Child, spawnProcess, spawnTsx } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

export { Child };

const HERE = dirname(fileURLToPath(import.meta.url));
export const MOSQUITTO = '/usr/sbin/mosquitto';

/** test/helpers/wait.ts, polling every 50 ms. */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  await waitFor(what, predicate, {
    timeoutMs: ms,
    intervalMs: 50,
    message: () => `${what}: not reached within ${ms} ms`,
  });
}

/** Starts a child program of this folder under tsx, its stdin a pipe (see above). */
export function spawnTs(
  name: string,
  file: string,
  args: string[],
  env: Record<string, string> = {},
  onLine?: (line: string) => void,
): Child {
  return spawnTsx(name, join(HERE, file), args, { env, stdin: 'pipe', ...(onLine ? { onLine } : {}) });
}

export interface GatewaySpec {
  gatewayId: string;
  dataDir: string;
  url: string;
  password: string;
  periodMs?: number;
  telemetryPerCycle?: number;
  telemetryQuota?: number;
  ackTimeoutMs?: number;
}

/** Starts gateway-child.ts; every ledger line it prints is appended to `ledger`. */
export async function startGateway(spec: GatewaySpec, ledger: LedgerEntry[]): Promise<Child> {
  const child = spawnTs(
    `gateway ${spec.gatewayId}`,
    'gateway-child.ts',
    [JSON.stringify(spec)],
    {},
    (line) => {
      const entry = parseLedgerLine(line);
      if (entry !== null) ledger.push(entry);
    },
  );
  await child.waitLine('READY', 20_000);
  return child;
}

export interface CloudStarted {
  child: Child;
  mqttPort: number | null;
  httpPort: number;
}

/** Starts cloud-child.ts with `configFile`; `env` may carry DATABASE_URL / MQTT_URL. */
export async function startCloud(
  name: string,
  configFile: string,
  gateways: Record<string, string>,
  env: Record<string, string> = {},
): Promise<CloudStarted> {
  const pairs = Object.entries(gateways)
    .map(([id, secret]) => `${id}:${secret}`)
    .join(',');
  const child = spawnTs(name, 'cloud-child.ts', [configFile], { ...env, KERBSIDE_E2E_GATEWAYS: pairs });
  const line = await child.waitLine('READY', 30_000);
  const ports = JSON.parse(line.slice('READY '.length)) as { mqttPort: number | null; httpPort: number };
  return { child, ...ports };
}

/** A real mosquitto on a free port, anonymous clients allowed, no persistence. */
export async function startMosquitto(dir: string): Promise<{ port: number; child: Child }> {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  // A shell between us and mosquitto that kills it when our pipe closes (even if we are SIGKILLed).
  const child = spawnProcess(
    'mosquitto',
    'sh',
    ['-c', '"$0" -c "$1" & pid=$!; trap "kill -9 $pid" EXIT; read -r _; exit 0', MOSQUITTO, conf],
    { stdin: 'pipe' },
  );
  await waitUntil(() => canConnect(port), 10_000, `mosquitto listening (${child.stderr})`);
  return { port, child };
}

export function tempRoot(prefix: string): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export type Victim = 'cloud' | 'gateway' | 'both';

export interface CrashLoopOptions {
  rounds: number;
  /** When set, kill rounds go on until this much time has passed (rounds is then ignored). */
  durationMs?: number;
  /** How long everything runs between kills, ms (random within). */
  runMs: [number, number];
  /** How long a killed side stays down, ms (random within). */
  downMs: [number, number];
  /** Telemetry quota of the gateway: small, so cloud outages cause evictions (gap events). */
  telemetryQuota?: number;
  log?: (line: string) => void;
}

export interface CrashLoopResult {
  report: InvariantReport;
  kills: Record<Victim, number>;
  gatewayKills: number;
  ledger: number;
  drainMs: number;
  cloudGapEvents: number;
}

const SECRET = 'e2e-crash-loop-secret-0123456789abcdef';
const GW = 'cab-crash';

function between([lo, hi]: [number, number]): number {
  return lo + Math.random() * (hi - lo);
}

/**
 * One gateway child and one cloud child (SQLite, embedded broker on a fixed port so the gateway
 * reconnects to the restarted cloud), killed with SIGKILL at random moments for `rounds` rounds,
 * victims in turn cloud, gateway, both; then producing stops, the outbox drains, and the
 * invariant checker runs over the ledger, the gateway database and the cloud database.
 */
export async function runCrashLoop(root: string, options: CrashLoopOptions): Promise<CrashLoopResult> {
  const log = options.log ?? (() => undefined);
  const cloudDir = join(root, 'cloud');
  const gwDir = join(root, 'gateway');
  mkdirSync(cloudDir, { recursive: true });
  const port = await freePort();
  const configFile = join(cloudDir, 'cloud.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      database: { sqlitePath: 'cloud.sqlite' },
      mqtt: { embedded: { host: '127.0.0.1', port } },
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'warn' },
    }),
  );
  const ledger: LedgerEntry[] = [];
  const spec: GatewaySpec = {
    gatewayId: GW,
    dataDir: gwDir,
    url: `mqtt://127.0.0.1:${port}`,
    password: SECRET,
    periodMs: 20,
    telemetryPerCycle: 2,
    telemetryQuota: options.telemetryQuota ?? 150,
  };
  const kills: Record<Victim, number> = { cloud: 0, gateway: 0, both: 0 };
  /** The children running now (replaced at each restart); killed in `finally` whatever happens. */
  const procs: { cloud?: Child; gateway?: Child } = {};
  const bootCloud = async (): Promise<Child> =>
    (await startCloud('cloud', configFile, { [GW]: SECRET })).child;
  try {
    let cloud = await bootCloud();
    procs.cloud = cloud;
    let gateway = await startGateway(spec, ledger);
    procs.gateway = gateway;
    const victims: Victim[] = ['cloud', 'gateway', 'both'];
    const started = Date.now();
    const more = (round: number): boolean =>
      options.durationMs === undefined ? round < options.rounds : Date.now() - started < options.durationMs;
    for (let round = 0; more(round); round++) {
      await sleep(between(options.runMs));
      const victim = victims[round % victims.length] as Victim;
      kills[victim]++;
      log(`round ${round + 1}: kill -9 ${victim} (ledger ${ledger.length})`);
      // Both at once when both are victims: a power cut takes the pair together.
      await Promise.all([
        victim !== 'gateway' ? cloud.kill9() : null,
        victim !== 'cloud' ? gateway.kill9() : null,
      ]);
      await sleep(between(options.downMs));
      const restarted: [Child, Child] = await Promise.all([
        victim !== 'gateway' ? bootCloud() : cloud,
        victim !== 'cloud' ? startGateway(spec, ledger) : gateway,
      ]);
      [cloud, gateway] = restarted;
      procs.cloud = cloud;
      procs.gateway = gateway;
    }
    await sleep(between(options.runMs));
    gateway.send('stop');
    await gateway.waitLine('STOPPED', 5000);
    const drainStart = Date.now();
    await waitUntil(() => gatewayDrained(gwDir), 60_000, 'gateway outbox drained');
    const drainMs = Date.now() - drainStart;
    log(`drained in ${drainMs} ms; ledger ${ledger.length}`);
    await gateway.stop();
    await cloud.stop();
    const report = await checkDeployment({
      ledger,
      gateways: { [GW]: gwDir },
      cloud: { sqlitePath: join(cloudDir, 'cloud.sqlite') },
    });
    return {
      report,
      kills,
      gatewayKills: kills.gateway + kills.both,
      ledger: ledger.length,
      drainMs,
      cloudGapEvents: report.counts.gapEventsInCloud,
    };
  } catch (error) {
    const tail = (c: Child | undefined): string => (c === undefined ? '' : c.stderr.slice(-3000));
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- gateway stderr ---\n${tail(procs.gateway)}\n--- cloud stderr ---\n${tail(procs.cloud)}`,
      { cause: error },
    );
  } finally {
    await Promise.all([procs.gateway?.kill9(), procs.cloud?.kill9()]);
  }
}
