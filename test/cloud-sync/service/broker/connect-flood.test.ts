/**
 * Finding 2 of issue 12 (docs/security.md): every CONNECT used to run scrypt, even
 * for unknown names, so junk connections starved operator logins. Against the real service (its
 * embedded broker, the enrollment tables on SQLite, the key file it made at start) and real MQTT
 * clients: junk CONNECTs are refused without one run of the slow KDF (counted, slowKdfRuns), and a
 * row from before keyed hashes still connects and is rewritten to the keyed form.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { generateSecret, keyIdOf } from '../../../../cloud-sync/service/broker/credentials.js';
import { gatewayClientId } from '../../../../cloud-sync/service/broker/acl.js';
import { scryptHash, slowKdfRuns } from '../../../../runtime/scrypt.js';
import { startCloudService, type CloudService } from '../../../../cloud-sync/service/service.js';
import { productionDeps } from '../../../../cloud-sync/service/wiring.js';
import { redeemEnrollmentToken } from '../../../../cloud-sync/service/enrollment/redeem.js';
import { issueEnrollmentToken } from '../../../../cloud-sync/service/enrollment/tokens.js';
import { readCredentialKey } from '../../../../cloud-sync/service/secrets/credential-key.js';
import { testConfig } from '../service-helpers.js';

const silent = pino({ level: 'silent' });
const quiet = { info: () => undefined, warn: () => undefined };

/** CONNECT as `username`; resolves with the CONNACK refusal code, or 0 when accepted (then closed). */
async function connectCode(url: string, username: string, password: string): Promise<number> {
  let client: MqttClient | undefined;
  try {
    client = await connectAsync(url, {
      clientId: gatewayClientId(username),
      username,
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    assert.equal(typeof code, 'number', `expected a CONNACK refusal, got ${String(error)}`);
    return code as number;
  } finally {
    await client?.endAsync(true);
  }
}

describe('CONNECT flood: no slow KDF for gateway and service credentials', () => {
  let dir: string;
  let service: CloudService;
  let url: string;
  let secret: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kerbside-connect-flood-'));
    service = await startCloudService(testConfig(dir), { ...productionDeps(silent), processMetrics: false });
    url = `mqtt://127.0.0.1:${service.mqttPort}`;
    // Enrolled the production way: the route's redemption hashes with the service's key file.
    const keyFile = join(dir, 'credential.key');
    const key = await readCredentialKey(keyFile);
    assert.ok(key !== null, 'the service made its key file at start');
    const { token } = await issueEnrollmentToken(service.db, { gatewayId: 'cab-1', createdBy: 'test' });
    const redeemed = await redeemEnrollmentToken(service.db, {
      token,
      remoteAddress: '127.0.0.1',
      credentialKey: key,
      logger: quiet,
    });
    assert.ok(redeemed.ok);
    secret = redeemed.secret;
  });

  after(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses unknown names and wrong secrets on a keyed row without running scrypt', async () => {
    const runs = slowKdfRuns();
    const codes = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => connectCode(url, `junk-${i}`, generateSecret())),
      ...Array.from({ length: 5 }, () => connectCode(url, 'cab-1', generateSecret())),
    ]);
    // CONNACK 4, bad user name or password (MQTT 3.1.1 section 3.2.2.3).
    assert.deepEqual(
      codes,
      Array.from({ length: 10 }, () => 4),
    );
    assert.equal(await connectCode(url, 'cab-1', secret), 0, 'the real secret still connects');
    assert.equal(slowKdfRuns(), runs, 'no CONNECT reached the slow KDF');
  });

  it('lets a gateway with a legacy scrypt row in, once with scrypt, and rewrites the row keyed', async () => {
    const legacySecret = generateSecret();
    const legacyHash = await scryptHash(legacySecret, { n: 16384, r: 8, p: 1 });
    await service.db
      .insertInto('gateways')
      .values({
        gateway_id: 'cab-old',
        credential_hash: legacyHash,
        mosquitto_hash: '$7$1000$AAAAAAAAAAAAAAAA$' + 'A'.repeat(86) + '==',
        disabled: 0,
        enrolled_at: new Date().toISOString(),
        rotated_at: null,
        disabled_changed_at: null,
      })
      .execute();
    const runs = slowKdfRuns();
    assert.equal(await connectCode(url, 'cab-old', legacySecret), 0);
    assert.equal(slowKdfRuns(), runs + 1, 'the legacy row cost one scrypt');
    const row = await service.db
      .selectFrom('gateways')
      .select('credential_hash')
      .where('gateway_id', '=', 'cab-old')
      .executeTakeFirstOrThrow();
    const key = await readCredentialKey(join(dir, 'credential.key'));
    assert.equal(keyIdOf(row.credential_hash), key?.id, 'rewritten in the keyed form');
    assert.equal(await connectCode(url, 'cab-old', legacySecret), 0);
    assert.equal(await connectCode(url, 'cab-old', generateSecret()), 4);
    assert.equal(slowKdfRuns(), runs + 1, 'after the rewrite, no more scrypt for it');
  });
});
