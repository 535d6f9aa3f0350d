/**
 * The demo's cloud side: the cloud-sync service on loopback (embedded broker, SQLite in the demo's
 * data folder), and the demo cabinet enrolled into it the way an installer would do it: a one-time
 * token issued by the cloud, redeemed over HTTP by the gateway, credential stored in the gateway's
 * data folder (docs/enrollment.md). Ports are picked by the system so the demo never collides
 * with a broker already running on 1883.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createOperator } from '../cloud-sync/service/auth/operators.js';
import { generatePassword } from '../cloud-sync/service/auth/passwords.js';
import type { Role } from '../cloud-sync/service/auth/roles.js';
import type { CasesConfig } from '../cloud-sync/service/cases/config.js';
import { resolveDocument } from '../cloud-sync/service/config.js';
import { upsertComponent, type ComponentInput } from '../cloud-sync/service/registry/registry.js';
import { issueEnrollmentToken } from '../cloud-sync/service/enrollment/tokens.js';
import { startCloudService, type CloudService } from '../cloud-sync/service/service.js';
import { productionDeps } from '../cloud-sync/service/wiring.js';
import { loadUplinkCredentials, uplinkConnection } from '../gateway/enrollment/credentials.js';
import { enroll } from '../gateway/enrollment/enroll.js';
import type { UplinkOptions } from '../gateway/uplink/uplink.js';
import { GATEWAY_VERSION } from '../gateway/version.js';

export interface DemoCloud {
  service: CloudService;
  uplink: UplinkOptions;
  /** The operator accounts made for this run, one per role, with their generated passwords. */
  operators: DemoOperator[];
}

export interface DemoOperator {
  username: string;
  roles: Role[];
  unit: string | null;
  password: string;
}

/** The owning parties of the demo cabinet's components (DOMAIN.md "Component ids"). */
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

/** Registers the demo cabinet's devices as components and makes the operator accounts. */
async function seedDemo(
  service: CloudService,
  cases: CasesConfig,
  gatewayId: string,
): Promise<DemoOperator[]> {
  for (const { componentId, input } of DEMO_COMPONENTS) {
    await upsertComponent(service.db, cases, componentId, { ...input, gatewayId });
  }
  const operators: DemoOperator[] = [];
  for (const account of DEMO_ACCOUNTS) {
    const password = generatePassword();
    await createOperator(service.db, { ...account, password }, new Date());
    operators.push({ ...account, password });
  }
  return operators;
}

export async function startDemoCloud(dataDir: string, gatewayId: string, logger: Logger): Promise<DemoCloud> {
  const cloudDir = join(dataDir, 'cloud');
  const config = resolveDocument(
    { database: { sqlitePath: 'cloud.sqlite' }, mqtt: { embedded: { port: 0 } }, http: { port: 0 } },
    { env: {}, cwd: cloudDir, fileDir: cloudDir, file: null },
  );
  const service = await startCloudService(config, productionDeps(logger.child({ module: 'cloud' })));
  try {
    const { token } = await issueEnrollmentToken(service.db, { gatewayId, createdBy: 'demo' });
    await enroll({ url: `http://127.0.0.1:${service.httpPort}/`, token, dataDir });
    const credentials = await loadUplinkCredentials(dataDir);
    const operators = await seedDemo(service, config.cases, gatewayId);
    return {
      service,
      uplink: { ...uplinkConnection(credentials), version: GATEWAY_VERSION },
      operators,
    };
  } catch (error) {
    await service.close();
    throw error;
  }
}
