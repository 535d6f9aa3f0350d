/**
 * `npm start`: the newcomer's first touch (ARCHITECTURE.md, "Composition roots"). Starts simulated
 * devices of every family running their scenarios, and the gateway polling them with embedded
 * defaults:
 *   - RS-485 line "rs485-1" at 9600 8E1 on a pseudo-terminal pair (real serial I/O; RTU frames over
 *     TCP when this machine cannot make a pty, said in the log): lighting concentrator (unit 1),
 *     sewer gas detector (unit 2), manhole-cover monitor behind a relay (unit 3);
 *   - Modbus TCP endpoint "bridge-lan": bridge strain logger.
 * Data lives in a throw-away folder (KERBSIDE_DATA_DIR keeps it). Ctrl-C stops everything cleanly.
 * It lives in simulators/ because gateway/ never imports the simulators.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import pretty from 'pino-pretty';
import { BusScheduler } from '../gateway/bus/scheduler.js';
import type { DevicePollResult, PointValue } from '../gateway/bus/types.js';
import { formatConfigIssue } from '../gateway/config/errors.js';
import { validateGatewayConfig } from '../gateway/config/validate.js';
import { Gateway } from '../gateway/gateway.js';
import { createLogger } from '../gateway/logger.js';
import { createGatewayRegistry } from '../gateway/metrics/metrics.js';
import { buildMetricsApp } from '../gateway/metrics/server.js';
import type { CloudService } from '../cloud-sync/service/service.js';
import { startDemoCloud } from './demo-cloud.js';
import { formatIssue } from '../cloud-sync/contract/errors.js';
import { loadProfileDirectory } from '../gateway/profiles/loader.js';
import { startSimulation, type Simulation } from './index.js';
import { onStopSignals } from '../runtime/signals.js';
import { createServer } from 'node:net';
import type { GatewayConfig } from '../gateway/config/types.js';
import type { WebRole } from '../gateway/web/api-types.js';
import { createWebUser, findWebUser, updateWebUser } from '../gateway/web/accounts/users.js';
import { generatePassword } from '../gateway/web/accounts/passwords.js';
import { startCabinetWeb } from '../gateway/web/cabinet-web.js';
import type { WebServer } from '../gateway/web/server.js';

const STATUS_EVERY_MS = 10_000;

/** Latest value of every point, by device, fed from the buses' poll results. */
type Latest = Map<string, Map<string, PointValue>>;

function remember(latest: Latest, result: DevicePollResult): void {
  const values = latest.get(result.deviceId) ?? new Map<string, PointValue>();
  for (const reading of result.readings) values.set(reading.key, reading.value);
  latest.set(result.deviceId, values);
}

function num(latest: Latest, device: string, key: string, digits = 1): string {
  const value = latest.get(device)?.get(key);
  return typeof value === 'number' ? value.toFixed(digits) : typeof value === 'boolean' ? String(value) : '-';
}

/** Highest strain seen on any channel since the previous status line (vehicles pass in seconds). */
let strainPeak: number | null = null;

function rememberStrainPeak(result: DevicePollResult): void {
  for (const reading of result.readings) {
    if (/^strain_\d+$/.test(reading.key) && typeof reading.value === 'number') {
      strainPeak = Math.max(strainPeak ?? -Infinity, reading.value);
    }
  }
}

function statusLine(latest: Latest): string {
  const lighting = latest.get('lighting');
  const lamps = lighting ? [...lighting].filter(([key]) => key.endsWith('.lamp_power')) : [];
  const lit = lamps.filter(([, power]) => typeof power === 'number' && power > 5).length;
  const peak = strainPeak;
  strainPeak = null;
  return [
    `gas H2S ${num(latest, 'gas-vault-1', 'h2s')} mg/m³, CH4 ${num(latest, 'gas-vault-1', 'ch4')} %LEL, O2 ${num(latest, 'gas-vault-1', 'o2')} %vol`,
    `cover tilt ${num(latest, 'cover-14', 'tilt_angle')}°, open ${num(latest, 'cover-14', 'cover_open')}`,
    `lamps lit ${lit}/${lamps.length}, phase A ${num(latest, 'lighting', 'phase_a_current', 2)} A`,
    `bridge peak strain ${peak === null ? '-' : peak.toFixed(0)} µε in the last ${STATUS_EVERY_MS / 1000} s`,
  ].join(' | ');
}

async function main(): Promise<void> {
  // People read this log, so it is pretty-printed; the gateway itself logs JSON lines.
  const logger: Logger = createLogger({
    destination: pretty({
      colorize: process.stdout.isTTY,
      translateTime: 'HH:MM:ss',
      ignore: 'pid,hostname',
      singleLine: true,
      sync: true,
    }),
  });
  const keepData = process.env.KERBSIDE_DATA_DIR;
  const dataDir = keepData ?? mkdtempSync(join(tmpdir(), 'kerbside-demo-'));

  const { profiles, issues } = loadProfileDirectory();
  if (issues.length > 0) {
    for (const issue of issues) console.error(formatIssue(issue));
    process.exit(2);
  }

  const simulation: Simulation = await startSimulation({
    buses: [
      { id: 'rs485-1', kind: 'rtu', pty: true, serial: { baudRate: 9600, parity: 'even' } },
      { id: 'bridge-lan', kind: 'tcp', port: 0 },
    ],
    devices: [
      {
        bus: 'rs485-1',
        unitId: 1,
        profile: 'lamp-concentrator/kerbtek-lc3200',
        scenario: 'normal@30,lamp-failure@60,loop-trip@60,cable-theft@60,loop',
      },
      { bus: 'rs485-1', unitId: 2, profile: 'gas-detector/anqi-gd300', scenario: 'normal@20,gas-leak,loop' },
      {
        bus: 'rs485-1',
        unitId: 3,
        profile: 'manhole-cover/anjing-mc200',
        scenario: 'vehicle-bump,cover-open:openS=30,normal@30,loop',
      },
      { bus: 'bridge-lan', unitId: 1, profile: 'bridge-strain/qiaoce-vw8', scenario: 'bridge-traffic' },
    ],
    logger: logger.child({ module: 'simulators' }),
  });

  const line = simulation.bus('rs485-1');
  const lan = simulation.bus('bridge-lan');
  const rtuBus =
    line.endpoint === 'serial'
      ? { id: 'rs485-1', kind: 'rtu', path: line.gatewayPath, serial: { baudRate: 9600, parity: 'even' } }
      : {
          id: 'rs485-1',
          kind: 'rtu-over-tcp',
          host: '127.0.0.1',
          port: line.port,
          serial: { baudRate: 9600, parity: 'even' },
        };
  if (line.endpoint === 'serial') {
    logger.info(
      { gatewayEnd: line.gatewayPath, simulatorEnd: line.address, via: line.ptyMethod },
      'RS-485 line simulated on a pseudo-terminal pair',
    );
  } else {
    logger.warn(
      { endpoint: line.address },
      'no pseudo-terminal pair could be made on this machine (install socat, or python3): carrying RTU framing over TCP instead',
    );
  }

  // Kept as written: configuration documents from the cloud are merged over it (docs/config-downlink.md).
  const configDocument = {
    gatewayId: 'demo-cabinet',
    site: {
      name: 'Demo cabinet, Harbour Road',
      latitude: 31.2304,
      longitude: 121.4737,
      timeZone: 'Asia/Shanghai',
    },
    dataDir,
    log: { level: 'info' },
    // The cabinet web UI on loopback only, plain HTTP so a newcomer is one click from it (no
    // certificate warning); a real cabinet serves HTTPS to its LAN (docs/ui.md).
    web: { host: '127.0.0.1', port: DEMO_WEB_PORT, tls: false, insecureCookies: true },
    buses: [rtuBus, { id: 'bridge-lan', kind: 'tcp', host: '127.0.0.1', port: lan.port }],
    devices: [
      {
        id: 'lighting',
        name: 'Lighting concentrator',
        bus: 'rs485-1',
        unitId: 1,
        profile: 'kerbtek-lc3200',
        pollIntervalMs: 2000,
      },
      {
        id: 'gas-vault-1',
        name: 'Sewer gas, vault 1',
        bus: 'rs485-1',
        unitId: 2,
        profile: 'anqi-gd300',
        pollIntervalMs: 1000,
      },
      {
        id: 'cover-14',
        name: 'Manhole cover opposite no. 14',
        bus: 'rs485-1',
        unitId: 3,
        profile: 'anjing-mc200',
        pollIntervalMs: 500,
      },
      {
        id: 'bridge-pier-2',
        name: 'Bridge pier 2 strain',
        bus: 'bridge-lan',
        unitId: 1,
        profile: 'qiaoce-vw8',
        pollIntervalMs: 200,
      },
    ],
    // Load factor calibrated against the simulator's trucks (docs/strain.md); levels from
    // docs/domain.md.
    strain: [
      {
        device: 'bridge-pier-2',
        material: 'concrete',
        referenceTemperatureC: 15,
        loadFactorTonnesPerMicrostrain: 0.348,
        overweightTonnes: [85, 95],
      },
    ],
    // Lamps follow the sun at the cabinet's coordinates (Asia/Shanghai): off by day, on at dusk.
    lighting: {
      timezone: 'Asia/Shanghai',
      astronomical: { twilight: 'official', onOffsetMin: -10, offOffsetMin: 5 },
      midnightDimming: { from: '23:00', to: '05:00', level: 50 },
      devices: [
        {
          device: 'lighting',
          roadClass: 'main',
          loops: [1, 2, 3, 4].map((loop) => ({
            loop,
            phase: (['a', 'b', 'c', 'a'] as const)[loop - 1],
            lamps: [1, 2, 3, 4].map((n) => `lamp_${String((loop - 1) * 4 + n).padStart(2, '0')}`),
          })),
        },
      ],
    },
  };
  const validated = validateGatewayConfig(configDocument, profiles);
  if (!validated.ok) {
    for (const issue of validated.issues) console.error(formatConfigIssue(issue));
    await simulation.stop();
    process.exit(2);
  }

  const cloud = await startDemoCloud(dataDir, validated.config.gatewayId, logger);
  const latest: Latest = new Map();
  const gateway = new Gateway(validated.config, profiles, logger, {
    uplink: cloud.uplink,
    configSource: { document: configDocument, baseDir: dataDir },
    createBus: (options) => {
      const bus = new BusScheduler(options);
      bus.onPoll((result) => {
        remember(latest, result);
        rememberStrainPeak(result);
      });
      return bus;
    },
  });
  // Alarms and overweight trucks as they are committed (the web UI will show these).
  gateway.events.on('alarm:changed', (t) => {
    if (t.from === t.to && t.to === 'suppressed') return;
    const what = t.message?.en ?? t.ruleKey;
    const value = typeof t.value === 'number' ? ` (${t.value.toFixed(1)})` : '';
    console.log(
      `ALARM ${t.alarmKey}: ${t.from} -> ${t.to}${t.level ? ` level ${t.level}` : ''}${value}  ${what}`,
    );
  });
  gateway.events.on('strain:overweight', (e) => {
    console.log(
      `OVERWEIGHT ${e.deviceId}: ~${e.estimatedTonnes.toFixed(0)} t (level ${e.level}, peak ${e.peakMicrostrain.toFixed(0)} µε on ${e.channel})`,
    );
  });
  await gateway.start();
  const gatewayMetrics = await serveGatewayMetrics(gateway, validated.config.metrics.port, logger);
  const webAccounts = await demoWebAccounts(gateway);
  const web = await serveCabinetWeb(gateway, validated.config, logger);

  const api = `http://127.0.0.1:${cloud.service.httpPort}`;
  const banner = [
    '',
    cloud.resumed ? 'Kerbside demo is running again on its kept data.' : 'Kerbside demo is running.',
    `  RS-485 line rs485-1: ${line.endpoint === 'serial' ? `pseudo-terminal ${line.gatewayPath} (via ${line.ptyMethod})` : `RTU over TCP ${line.address}`}, 9600 8E1, paced at wire speed`,
    `  Modbus TCP bridge-lan: 127.0.0.1:${lan.port}`,
    `  gateway database: ${join(dataDir, 'kerbside.db')}${keepData ? '' : ' (throw-away folder, removed on exit; KERBSIDE_DATA_DIR=<folder> keeps it)'}`,
    `  gateway metrics:  ${gatewayMetrics.url}`,
    '  Lamps follow the astronomical clock of Shanghai (off by day, on from sunset); alarms, overweight',
    '  trucks and lighting actions print below as the gateway commits them.',
    `  cloud service: MQTT broker mqtt://127.0.0.1:${cloud.service.mqttPort ?? '?'}; the cabinet ${cloud.resumed ? 'is' : 'was just'} enrolled and its uplink sends every committed event`,
    `  cloud database:   ${join(dataDir, 'cloud', 'cloud.sqlite')}`,
    `  cloud metrics:    ${api}/metrics   health: ${api}/healthz`,
    `  case service API: ${api}/api/v1/openapi.json (the OpenAPI document of every route)`,
    `  metrics and the API document need the scrape token: Authorization: Bearer ${cloud.scrapeToken}`,
    `  sign in:          POST ${api}/api/v1/auth/login with {"username": ..., "password": ...}`,
    `  operator accounts (roles of the city-management cycle; also in ${cloud.accountsFile}, readable by you only):`,
    ...cloud.operators.map(
      (o) =>
        `    ${o.username.padEnd(11)} ${o.password}  ${o.roles.join(', ')}${o.unit === null ? '' : ` (${o.unit})`}`,
    ),
    '  A gas or cover alarm files a case automatically; cases print below as the cloud files them.',
    `  cabinet web UI:   ${web?.url ?? '(did not start, see the log)'}  (zh-CN; English at the top right)`,
    '  cabinet accounts (new passwords each run):',
    ...webAccounts.map((a) => `    ${a.username.padEnd(11)} ${a.password}  ${a.role}`),
    '  The cloud console arrives with a later issue.',
    `  ${process.stdin.isTTY ? 'Enter shows this again; ' : ''}Ctrl-C stops everything.`,
    '',
  ].join('\n');
  console.log(banner);
  // The banner scrolls away under alarms and cases; Enter brings it back (a terminal only: a
  // pipe or /dev/null on stdin is left alone).
  if (process.stdin.isTTY) {
    process.stdin.on('data', () => console.log(banner));
    process.stdin.unref();
  }

  const status = setInterval(() => console.log(statusLine(latest)), STATUS_EVERY_MS);
  const cases = printNewCases(cloud.service);

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(status);
    clearInterval(cases);
    logger.info({ signal }, 'stopping the demo');
    await gatewayMetrics.app.close();
    await web?.close();
    await gateway.stop();
    await cloud.service.close();
    await simulation.stop();
    if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  onStopSignals({ logger, onStop: (signal) => void shutdown(signal) });
}

/** The cabinet web UI's port in the demo, or a free one when it is taken (another demo). */
const DEMO_WEB_PORT = 8080;

/**
 * A technician and an admin of the cabinet web UI with new random passwords each run (no default
 * password, docs/security.md); a kept data folder has them already and gets new passwords.
 */
async function demoWebAccounts(
  gateway: Gateway,
): Promise<Array<{ username: string; role: WebRole; password: string }>> {
  const store = gateway.webStore();
  const actor = { username: 'demo' };
  const accounts = [
    { username: 'technician', role: 'technician' as const, password: generatePassword() },
    { username: 'admin', role: 'admin' as const, password: generatePassword() },
  ];
  for (const account of accounts) {
    if (findWebUser(store, account.username) === null) await createWebUser(store, account, actor);
    else await updateWebUser(store, account.username, { password: account.password }, actor);
  }
  return accounts;
}

/** The cabinet web UI on DEMO_WEB_PORT, or on a free port when that one is taken. */
async function serveCabinetWeb(
  gateway: Gateway,
  config: GatewayConfig,
  logger: Logger,
): Promise<WebServer | null> {
  const free = await portIsFree(config.web.port);
  const chosen = free ? config : { ...config, web: { ...config.web, port: 0 } };
  if (!free) logger.info({ port: config.web.port }, 'cabinet web UI port taken; serving it on a free port');
  return startCabinetWeb(gateway, chosen, logger);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host: '127.0.0.1', port }, () => probe.close(() => resolve(true)));
  });
}

/**
 * Serves the gateway's metrics on the configured port (9464 by default, as `npm run gateway`
 * does), or on a port the system picks when that one is taken (another gateway or demo); returns
 * the URL to print.
 */
async function serveGatewayMetrics(
  gateway: Gateway,
  port: number,
  logger: Logger,
): Promise<{ url: string; app: FastifyInstance }> {
  const app = buildMetricsApp(createGatewayRegistry(gateway));
  try {
    return { url: `${await app.listen({ host: '127.0.0.1', port })}/metrics`, app };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    logger.info({ port }, 'gateway metrics port taken; serving them on a free port');
    const fallback = buildMetricsApp(createGatewayRegistry(gateway));
    return { url: `${await fallback.listen({ host: '127.0.0.1', port: 0 })}/metrics`, app: fallback };
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/** Prints each case the cloud opens, once, as the operators would see it arrive. */
function printNewCases(service: CloudService): NodeJS.Timeout {
  // From this run's start: a kept demo's earlier cases are in the database, not news.
  let since = new Date().toISOString();
  let busy = false;
  return setInterval(() => {
    if (busy) return;
    busy = true;
    service.db
      .selectFrom('cases')
      .select([
        'case_no',
        'state',
        'category',
        'severity',
        'device_id',
        'owner_unit',
        'reported_at',
        'dispatch_deadline',
      ])
      .where('reported_at', '>', since)
      .orderBy('reported_at')
      .execute()
      .then((rows) => {
        for (const row of rows) {
          since = row.reported_at;
          console.log(
            `CASE ${row.case_no} ${row.state}: ${row.category} (${row.severity}) at ${row.device_id}, owner ${row.owner_unit ?? 'unknown'}, dispatch by ${row.dispatch_deadline}`,
          );
        }
      })
      .catch((error: unknown) => console.error('could not read cases:', error))
      .finally(() => {
        busy = false;
      });
  }, 1000);
}
