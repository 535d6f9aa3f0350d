/**
 * The demo's cloud side: the cloud-sync service on loopback (embedded broker, SQLite in the demo's
 * data folder), and the demo cabinet enrolled into it the way an installer would do it: a one-time
 * token issued by the cloud, redeemed over HTTP by the gateway, credential stored in the gateway's
 * data folder (docs/enrollment.md). Ports are picked by the system so the demo never collides
 * with a broker already running on 1883.
 *
 * A kept demo (KERBSIDE_DATA_DIR) starts again on its own data: the cloud database, the cabinet's
 * enrollment and its accounts are reused (their passwords are in DEMO_ACCOUNTS_FILE, 0600, in the
 * data folder, since only hashes are stored), and the gateway resends whatever its outbox holds.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createOperator, getOperator, setOperatorPassword } from '../cloud-sync/service/auth/operators.js';
import { generatePassword } from '../cloud-sync/service/auth/passwords.js';
import type { Role } from '../cloud-sync/service/auth/roles.js';
import { resolveDocument } from '../cloud-sync/service/config.js';
import { upsertComponent, type ComponentInput } from '../cloud-sync/service/registry/registry.js';
import { issueEnrollmentToken } from '../cloud-sync/service/enrollment/tokens.js';
import { startCloudService, type CloudService } from '../cloud-sync/service/service.js';
import { productionDeps } from '../cloud-sync/service/wiring.js';
import { loadUplinkCredentials, uplinkConnection } from '../gateway/enrollment/credentials.js';
import { GatewayEnrollmentError } from '../gateway/enrollment/errors.js';
import { enroll } from '../gateway/enrollment/enroll.js';
import type { UplinkOptions } from '../gateway/uplink/uplink.js';
import { GATEWAY_VERSION } from '../gateway/version.js';

export interface DemoCloud {
  service: CloudService;
  uplink: UplinkOptions;
  /** The operator accounts, one per role, with their passwords (made on the first run, reused after). */
  operators: DemoOperator[];
  /** Where the accounts and their passwords are written (0600), to read them again later. */
  accountsFile: string;
  /** True when this run reused an earlier run's cloud database and enrollment. */
  resumed: boolean;
  /** The token /metrics and the OpenAPI document need (Authorization: Bearer), new each run. */
  scrapeToken: string;
}

/** The demo's accounts with their passwords, in the data folder (readable by its owner only). */
export const DEMO_ACCOUNTS_FILE = 'demo-accounts.json';

export interface DemoOperator {
  username: string;
  roles: Role[];
  unit: string | null;
  password: string;
}

/** The owning parties of the demo cabinet's components (docs/domain.md "Component ids"). */
const DRAINAGE = '区排水公司';
const LIGHTING = '区路灯管理所';
const BRIDGES = '区桥梁管理处';
const DEPARTMENT = '区城市管理局';
const MAINTENANCE = '城运维保公司';

/** 16-digit component ids: county 330106 + class (cases/config.ts defaults) + serial. */
const DEMO_COMPONENTS: Array<{ componentId: string; input: Omit<ComponentInput, 'gatewayId'> }> = [
  {
    componentId: '3301060111000001',
    input: {
      deviceId: 'lighting',
      family: 'lamp-concentrator',
      name: '文三路路灯控制箱',
      ownerUnit: LIGHTING,
    },
  },
  {
    componentId: '3301060120000001',
    input: {
      deviceId: 'gas-vault-1',
      family: 'gas-detector',
      name: '文三路1号污水井气体监测',
      ownerUnit: DRAINAGE,
    },
  },
  {
    componentId: '3301060102000014',
    input: { deviceId: 'cover-14', family: 'manhole-cover', name: '文三路14号污水井盖', ownerUnit: DRAINAGE },
  },
  {
    componentId: '3301060130000002',
    input: { deviceId: 'bridge-pier-2', family: 'bridge-strain', name: '古墩桥2号墩', ownerUnit: BRIDGES },
  },
].map(({ componentId, input }) => ({
  componentId,
  input: {
    ...input,
    gridCell: '330106001001001',
    address: '杭州市西湖区文三路',
    latitude: 30.2765,
    longitude: 120.1285,
    competentDepartment: DEPARTMENT,
    maintenanceUnit: MAINTENANCE,
  },
}));

/** One account per workflow role; passwords are generated per run (no default passwords). */
const DEMO_ACCOUNTS: Array<{ username: string; roles: Role[]; unit: string | null }> = [
  { username: 'monitor', roles: ['monitoring'], unit: null },
  { username: 'dispatcher', roles: ['dispatcher'], unit: null },
  { username: 'drainage', roles: ['owner_unit'], unit: DRAINAGE },
  { username: 'lighting', roles: ['owner_unit'], unit: LIGHTING },
  { username: 'inspector', roles: ['inspector'], unit: null },
  { username: 'admin', roles: ['admin'], unit: null },
];

/** Passwords a previous run of a kept demo wrote, by username; none on a first run. */
async function knownPasswords(file: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  const parsed = JSON.parse(text) as Array<{ username?: unknown; password?: unknown }>;
  return new Map(
    parsed.flatMap((entry) =>
      typeof entry.username === 'string' && typeof entry.password === 'string'
        ? [[entry.username, entry.password] as const]
        : [],
    ),
  );
}

/**
 * The account of every workflow role: an account the database has and whose password the file
 * knows is reused; a missing one is created, and one whose password is lost gets a new one.
 */
async function demoAccounts(service: CloudService, file: string): Promise<DemoOperator[]> {
  const known = await knownPasswords(file);
  const operators: DemoOperator[] = [];
  const now = new Date();
  for (const account of DEMO_ACCOUNTS) {
    const exists = (await getOperator(service.db, account.username)) !== null;
    let password = known.get(account.username);
    if (!exists) {
      password = generatePassword();
      await createOperator(service.db, { ...account, password }, now);
    } else if (password === undefined) {
      password = generatePassword();
      await setOperatorPassword(service.db, account.username, password, now);
    }
    operators.push({ ...account, password });
  }
  await writeFile(file, `${JSON.stringify(operators, null, 2)}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created; a kept file someone loosened is tightened again.
  await chmod(file, 0o600);
  return operators;
}

/**
 * The demo cabinet's enrollment: the stored credential when there is one that pins the cloud's
 * signing key, else a fresh enrollment (which pins it: docs/downlink-signing.md). A folder kept from
 * before signed downlink has no pinned key, and the demo's commands would all be refused.
 */
async function enrollOnce(service: CloudService, gatewayId: string, dataDir: string): Promise<boolean> {
  try {
    const stored = await loadUplinkCredentials(dataDir);
    const active = service.downlinkSigner.publicKeys()[0];
    if (active !== undefined && stored.downlinkKeys.includes(active)) return true;
  } catch (error) {
    // No credential yet: a first run enrolls with a new one-time token. Any other problem with a
    // stored credential is for the person who kept the folder to see, not to paper over.
    if (!(error instanceof GatewayEnrollmentError && error.code === 'UPLINK_CREDENTIALS_MISSING'))
      throw error;
  }
  const { token } = await issueEnrollmentToken(service.db, { gatewayId, createdBy: 'demo' });
  await enroll({ url: `http://127.0.0.1:${service.httpPort}/`, token, dataDir });
  return false;
}

export async function startDemoCloud(dataDir: string, gatewayId: string, logger: Logger): Promise<DemoCloud> {
  const cloudDir = join(dataDir, 'cloud');
  // Loopback HTTP only: the session cookie without Secure (http.insecureCookies, a development
  // setting), and a scrape token of this run for /metrics and the OpenAPI document.
  const scrapeToken = randomBytes(16).toString('hex');
  const config = resolveDocument(
    {
      database: { sqlitePath: 'cloud.sqlite' },
      mqtt: { embedded: { port: 0 } },
      http: { port: 0, insecureCookies: true },
    },
    { env: { KERBSIDE_SCRAPE_TOKEN: scrapeToken }, cwd: cloudDir, fileDir: cloudDir, file: null },
  );
  const service = await startCloudService(config, productionDeps(logger.child({ module: 'cloud' })));
  try {
    const resumed = await enrollOnce(service, gatewayId, dataDir);
    const credentials = await loadUplinkCredentials(dataDir);
    for (const { componentId, input } of DEMO_COMPONENTS) {
      await upsertComponent(service.db, config.cases, componentId, { ...input, gatewayId });
    }
    const accountsFile = join(dataDir, DEMO_ACCOUNTS_FILE);
    const operators = await demoAccounts(service, accountsFile);
    return {
      service,
      // The broker's port is new on every run; the stored credential names the first run's.
      uplink: {
        ...uplinkConnection(credentials),
        url: `mqtt://127.0.0.1:${service.mqttPort ?? 0}`,
        version: GATEWAY_VERSION,
      },
      operators,
      accountsFile,
      resumed,
      scrapeToken,
    };
  } catch (error) {
    await service.close();
    throw error;
  }
}
