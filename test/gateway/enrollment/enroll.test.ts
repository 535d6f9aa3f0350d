/**
 * The gateway's enrollment against the cloud's real enrollment routes on loopback sockets: plain
 * HTTP, HTTPS verified against a test CA (selfsigned), a wrong CA, a refused token, the stored
 * files and their loader, and the `npm run enroll` command line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashEnrollmentToken, issueEnrollmentToken } from '../../../cloud-sync/service/enrollment/tokens.js';
import { runEnrollCli } from '../../../gateway/enrollment/cli.js';
import { CA_FILE, CREDENTIALS_FILE, loadUplinkCredentials } from '../../../gateway/enrollment/credentials.js';
import { enroll } from '../../../gateway/enrollment/enroll.js';
import { GatewayEnrollmentError } from '../../../gateway/enrollment/errors.js';
import { keyIdOf } from '../../../cloud-sync/contract/signing.js';
import { testDownlinkKey } from '../../helpers/downlink-signing.js';
import {
  makeTestCa,
  MemoryLogger,
  openTempDb,
  startEnrollmentServer,
  type EnrollmentServer,
  type TempDb,
  type TestCa,
} from '../../cloud-sync/service/enrollment/harness.js';

/** The cloud's downlink keys the servers answer with (docs/downlink-signing.md). */
const CLOUD_KEYS = [testDownlinkKey().publicKey];

function isCode(code: string) {
  return (error: unknown): boolean => error instanceof GatewayEnrollmentError && error.code === code;
}

describe('gateway enrollment', () => {
  let temp: TempDb;
  let work: string;
  let ca: TestCa;
  let otherCa: TestCa;
  let http: EnrollmentServer;
  let https: EnrollmentServer;
  let caFile: string;
  let otherCaFile: string;
  let dirCount = 0;

  const token = async (gatewayId: string): Promise<string> =>
    (await issueEnrollmentToken(temp.db, { gatewayId, createdBy: 'test' })).token;
  const dataDir = (): string => join(work, `data-${(dirCount += 1)}`);
  const tokenUsed = async (plain: string): Promise<boolean> => {
    const row = await temp.db
      .selectFrom('enrollment_tokens')
      .select('used_at')
      .where('token_hash', '=', hashEnrollmentToken(plain))
      .executeTakeFirstOrThrow();
    return row.used_at !== null;
  };

  before(async () => {
    temp = await openTempDb('kerbside-gw-enroll-');
    work = mkdtempSync(join(tmpdir(), 'kerbside-gw-data-'));
    [ca, otherCa] = await Promise.all([makeTestCa(), makeTestCa()]);
    caFile = join(work, 'ca.pem');
    otherCaFile = join(work, 'other-ca.pem');
    writeFileSync(caFile, ca.caCert);
    writeFileSync(otherCaFile, otherCa.caCert);
    const logger = new MemoryLogger();
    http = await startEnrollmentServer({
      db: temp.db,
      logger,
      mqttUrl: 'mqtt://127.0.0.1:1883',
      caBundle: null,
      downlinkKeys: CLOUD_KEYS,
    });
    https = await startEnrollmentServer({
      db: temp.db,
      logger,
      mqttUrl: 'mqtts://localhost:8883',
      caBundle: ca.caCert,
      downlinkKeys: CLOUD_KEYS,
      tls: { key: ca.serverKey, cert: ca.serverCert },
    });
  });

  after(async () => {
    await http?.close();
    await https?.close();
    await temp?.close();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('enrolls over plain HTTP and stores the credential with mode 0600', async () => {
    const dir = dataDir();
    const result = await enroll({ url: http.url, token: await token('cab-1'), dataDir: dir });
    assert.equal(result.gatewayId, 'cab-1');
    assert.equal(result.caFile, null);
    const file = join(dir, CREDENTIALS_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(existsSync(join(dir, CA_FILE)), false);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { mqtt: { password: string } };
    const loaded = await loadUplinkCredentials(dir);
    assert.deepEqual(loaded, {
      gatewayId: 'cab-1',
      mqtt: {
        url: 'mqtt://127.0.0.1:1883',
        username: 'cab-1',
        password: stored.mqtt.password,
        clientId: 'gw-cab-1',
      },
      downlinkKeys: CLOUD_KEYS,
      caPem: null,
      caFile: null,
    });
    assert.match(stored.mqtt.password, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(result.downlinkKeyIds, CLOUD_KEYS.map(keyIdOf));
  });

  it("refuses an answer without the cloud's downlink keys (a cloud before signed downlink), writing nothing", async () => {
    const old = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          gatewayId: 'cab-9',
          mqtt: {
            url: 'mqtt://127.0.0.1:1883',
            username: 'cab-9',
            password: 'p'.repeat(43),
            clientId: 'gw-cab-9',
          },
          caBundle: null,
        }),
      );
    });
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
    try {
      const dir = dataDir();
      const { port } = old.address() as AddressInfo;
      await assert.rejects(
        enroll({ url: `http://127.0.0.1:${port}/`, token: 't', dataDir: dir }),
        (error: unknown) =>
          isCode('ENROLL_BAD_RESPONSE')(error) && /downlinkKeys/.test((error as Error).message),
      );
      assert.equal(existsSync(join(dir, CREDENTIALS_FILE)), false);
    } finally {
      await new Promise((resolve) => old.close(resolve));
    }
  });

  it('refuses plain http:// to a host that is not loopback before sending the token, unless allowed', async () => {
    const dir = dataDir();
    const plain = await token('cab-10');
    await assert.rejects(
      enroll({ url: 'http://192.0.2.10:8080/', token: plain, dataDir: dir }),
      (error: unknown) =>
        isCode('ENROLL_INSECURE')(error) && /--insecure-http/.test((error as Error).message),
    );
    // Allowed explicitly, it does try (TEST-NET-1, RFC 5737: nothing answers there).
    await assert.rejects(
      enroll({
        url: 'http://192.0.2.10:8080/',
        token: plain,
        dataDir: dir,
        allowInsecureHttp: true,
        timeoutMs: 300,
      }),
      isCode('ENROLL_TRANSPORT'),
    );
    assert.equal(await tokenUsed(plain), false);
    assert.equal(existsSync(join(dir, CREDENTIALS_FILE)), false);
  });

  it('enrolls over HTTPS verified against the given CA and stores the broker CA bundle', async () => {
    const dir = dataDir();
    const result = await enroll({ url: https.url, token: await token('cab-2'), dataDir: dir, caFile });
    assert.equal(result.gatewayId, 'cab-2');
    assert.equal(result.caFile, join(dir, CA_FILE));
    const loaded = await loadUplinkCredentials(dir);
    assert.equal(loaded.mqtt.url, 'mqtts://localhost:8883');
    assert.equal(loaded.caPem?.trim(), ca.caCert.trim());
  });

  it('refuses a server whose certificate does not chain to the given CA, and redeems nothing', async () => {
    const plain = await token('cab-3');
    const dir = dataDir();
    await assert.rejects(
      enroll({ url: https.url, token: plain, dataDir: dir, caFile: otherCaFile }),
      (error: unknown) =>
        isCode('ENROLL_TRANSPORT')(error) && /certificate|self.signed|verify/i.test((error as Error).message),
    );
    // Without --ca the system store applies, which does not know the test CA either.
    await assert.rejects(enroll({ url: https.url, token: plain, dataDir: dir }), isCode('ENROLL_TRANSPORT'));
    assert.equal(await tokenUsed(plain), false, 'the token never reached the server');
    assert.equal(existsSync(join(dir, CREDENTIALS_FILE)), false);
  });

  it('reports a refused token and writes nothing', async () => {
    const dir = dataDir();
    await assert.rejects(
      enroll({ url: http.url, token: 'not-a-token', dataDir: dir }),
      isCode('ENROLL_REFUSED'),
    );
    const plain = await token('cab-4');
    await enroll({ url: http.url, token: plain, dataDir: dataDir() });
    await assert.rejects(enroll({ url: http.url, token: plain, dataDir: dir }), isCode('ENROLL_REFUSED'));
    assert.equal(existsSync(join(dir, CREDENTIALS_FILE)), false);
  });

  it('loadUplinkCredentials explains a missing, malformed, too open or inconsistent file', async () => {
    const dir = dataDir();
    await assert.rejects(
      loadUplinkCredentials(dir),
      (error: unknown) =>
        isCode('UPLINK_CREDENTIALS_MISSING')(error) && /enroll/.test((error as Error).message),
    );
    await enroll({ url: http.url, token: await token('cab-5'), dataDir: dir });
    const file = join(dir, CREDENTIALS_FILE);
    const good = readFileSync(file, 'utf8');
    const secret = (JSON.parse(good) as { mqtt: { password: string } }).mqtt.password;

    writeFileSync(file, `${good.slice(0, -5)}`, { mode: 0o600 });
    await assert.rejects(
      loadUplinkCredentials(dir),
      (error: unknown) =>
        isCode('UPLINK_CREDENTIALS_INVALID')(error) &&
        /not valid JSON/.test((error as Error).message) &&
        !(error as Error).message.includes(secret),
    );
    const wrongClient = JSON.parse(good) as { mqtt: { clientId: string } };
    wrongClient.mqtt.clientId = 'gw-cab-6';
    writeFileSync(file, JSON.stringify(wrongClient));
    await assert.rejects(
      loadUplinkCredentials(dir),
      (error: unknown) =>
        isCode('UPLINK_CREDENTIALS_INVALID')(error) && /clientId/.test((error as Error).message),
    );
    writeFileSync(file, good);
    chmodSync(file, 0o644);
    await assert.rejects(
      loadUplinkCredentials(dir),
      (error: unknown) =>
        isCode('UPLINK_CREDENTIALS_INVALID')(error) && /chmod 600/.test((error as Error).message),
    );
    chmodSync(file, 0o600);
    assert.equal((await loadUplinkCredentials(dir)).gatewayId, 'cab-5');
  });

  describe('npm run enroll', () => {
    const io = (): {
      out: string[];
      err: string[];
      io: { out: (t: string) => void; err: (t: string) => void };
    } => {
      const out: string[] = [];
      const err: string[] = [];
      return { out, err, io: { out: (t) => out.push(t), err: (t) => err.push(t) } };
    };

    it('exits 2 with a clear message on bad arguments', async () => {
      for (const [argv, message] of [
        [['--token', 't', '--data-dir', 'd'], /--url/],
        [['--url', 'http://127.0.0.1:1/', '--data-dir', 'd'], /exactly one of --token and --token-file/],
        [['--url', 'ftp://x/', '--token', 't', '--data-dir', 'd'], /http:\/\/ or https:\/\//],
        [
          ['--url', 'http://127.0.0.1:1/', '--token', 't', '--data-dir', 'd', '--ca', caFile],
          /--ca needs an https/,
        ],
        [['--url', 'http://127.0.0.1:1/', '--token', 't', '--data-dir', 'd', '--bogus'], /unknown option/],
        [
          ['--url', 'http://cloud.city.example/', '--token', 't', '--data-dir', 'd'],
          /plain HTTP.*--insecure-http/,
        ],
      ] as const) {
        const captured = io();
        assert.equal(await runEnrollCli([...argv], captured.io), 2, argv.join(' '));
        assert.match(captured.err.join(''), message);
      }
    });

    it('enrolls over HTTPS from a token file and never prints the secret', async () => {
      const dir = dataDir();
      const tokenFile = join(work, 'token.txt');
      writeFileSync(tokenFile, `${await token('cab-7')}\n`);
      const captured = io();
      const code = await runEnrollCli(
        ['--url', https.url, '--token-file', tokenFile, '--data-dir', dir, '--ca', caFile],
        captured.io,
      );
      assert.equal(code, 0, captured.err.join(''));
      assert.match(captured.out.join(''), /enrolled as cab-7/);
      const secret = (await loadUplinkCredentials(dir)).mqtt.password;
      assert.ok(!captured.out.join('').includes(secret) && !captured.err.join('').includes(secret));
    });

    it('exits 1 when the token is refused', async () => {
      const captured = io();
      const code = await runEnrollCli(
        ['--url', http.url, '--token', 'nope', '--data-dir', dataDir()],
        captured.io,
      );
      assert.equal(code, 1);
      assert.match(captured.err.join(''), /refused/);
    });

    it('runs as a program: exit code 2 for missing arguments', async () => {
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'gateway/enrollment/cli.ts', '--url', 'http://127.0.0.1:1/'],
          { encoding: 'utf8', timeout: 20_000 },
          (error, _stdout, stderr) =>
            resolve({
              code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
              stderr,
            }),
        );
      });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--data-dir/);
    });
  });
});
