/**
 * Child process of the end-to-end uplink tests: the cloud-sync service as `npm run cloud` starts
 * it (the same loadCloudConfig, so the config file and DATABASE_URL / MQTT_URL /
 * MQTT_SERVICE_SECRET apply the same way), except that gateway credentials come from the
 * environment into a MemoryCredentialStore instead of the enrollment tables.
 *
 * Prints `READY <json>` ({mqttPort, httpPort}) on stdout once running; logs (pino, warn) go to
 * stderr. The end of stdin (the parent died or closed it) stops it cleanly; SIGKILL is the point.
 *
 * Usage: KERBSIDE_E2E_GATEWAYS='cab-1:secret,cab-2:secret' \
 *          node --import tsx test/integration/cloud-child.ts <config.json>
 */
import { pino } from 'pino';
import { hashSecret, MemoryCredentialStore } from '../../cloud-sync/service/broker/credentials.js';
import { loadCloudConfig } from '../../cloud-sync/service/config.js';
import { loadOrCreateCredentialKey } from '../../cloud-sync/service/secrets/credential-key.js';
import { startCloudService } from '../../cloud-sync/service/service.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: cloud-child.ts <config.json>');
const config = loadCloudConfig({ file });
const logger = pino(
  { level: process.env['DEBUG_UPLINK'] === undefined ? 'warn' : 'debug' },
  pino.destination(2),
);

// The service's own key file, so the hashes below are the ones its broker checks.
const credentialKey = await loadOrCreateCredentialKey(config.mqtt.credentialKeyFile);
const credentials = new MemoryCredentialStore();
for (const pair of (process.env['KERBSIDE_E2E_GATEWAYS'] ?? '').split(',')) {
  const [id, secret] = pair.split(':');
  if (id === undefined || id === '' || secret === undefined) continue;
  credentials.set(id, { hash: hashSecret(secret, credentialKey), disabled: false });
}

const service = await startCloudService(config, { logger, credentials, credentialKey });
process.stdout.write(`READY ${JSON.stringify({ mqttPort: service.mqttPort, httpPort: service.httpPort })}\n`);

process.stdin.resume();
process.stdin.on('end', () => {
  void service.close().finally(() => process.exit(0));
});
