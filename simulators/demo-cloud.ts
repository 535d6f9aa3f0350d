/**
 * The demo's cloud side: the cloud-sync service on loopback (embedded broker, SQLite in the demo's
 * data folder), and the demo cabinet enrolled into it the way an installer would do it: a one-time
 * token issued by the cloud, redeemed over HTTP by the gateway, credential stored in the gateway's
 * data folder (docs/enrollment.md). Ports are picked by the system so the demo never collides
 * with a broker already running on 1883.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { resolveDocument } from '../cloud-sync/service/config.js';
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
    return {
      service,
      uplink: { ...uplinkConnection(credentials), version: GATEWAY_VERSION },
    };
  } catch (error) {
    await service.close();
    throw error;
  }
}
