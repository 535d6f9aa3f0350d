/** `npm run cloud-admin`: tokens, gateways, service accounts and broker files; exit 2 on bad arguments. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCloudAdmin } from '../../../../cloud-sync/service/cli.js';
import { listAudit } from '../../../../cloud-sync/service/enrollment/audit.js';
import { openCloudDatabase } from '../../../../cloud-sync/service/db/open.js';
import { openCredentialKey } from '../../../../cloud-sync/service/enrollment/credential-key.js';
import { runTsx } from '../../../helpers/process.js';
import { MemoryLogger, postEnroll, startEnrollmentServer } from './harness.js';

interface Captured {
  code: number;
  out: string;
  err: string;
}

describe('cloud-admin', () => {
  let work: string;
  let dbFile: string;

  async function admin(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Captured> {
    let out = '';
    let err = '';
    const code = await runCloudAdmin(args, { out: (t) => (out += t), err: (t) => (err += t), env });
    return { code, out, err };
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'kerbside-admin-'));
    dbFile = join(work, 'cloud.sqlite');
    // cloud-admin opens only an existing database (no --create here): make it as the service would.
    await (await openCloudDatabase({ sqlitePath: dbFile })).destroy();
  });

  after(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('exits 2 with a clear message on bad arguments', async () => {
    const cases: [string[], RegExp][] = [
      [['--db', dbFile, 'token', 'create', '--gateway', 'Bad_Id', '--by', 'li'], /gateway id/],
      [['--db', dbFile, 'token', 'create', '--gateway', 'cab-1'], /--by/],
      [['--db', dbFile, 'token', 'create', '--gateway', 'cab-1', '--by', 'li', '--ttl', '2y'], /ttl/],
      [
        ['--db', dbFile, 'token', 'create', '--gateway', 'cab-1', '--by', 'li', '--ttl', '10s'],
        /1m \.\. 30d/,
      ],
      [
        ['--db', join(work, 'mistyped.sqlite'), 'token', 'create', '--gateway', 'cab-1', '--by', 'li'],
        /no database at .*mistyped\.sqlite/,
      ],
      [['--db', dbFile, 'gateway', 'frobnicate'], /unknown command/],
      [['--db', dbFile, 'service-account', 'create', 'Ingest!', '--by', 'li'], /service account name/],
      [['--db', dbFile, 'mosquitto-files', '--out', work, '--tls-ca', 'ca.pem'], /all three/],
      [['--db', dbFile, 'mosquitto-files', '--out', work, '--gateway-port', '99999'], /port/],
    ];
    for (const [args, message] of cases) {
      const result = await admin(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.err}`);
      assert.match(result.err, message, args.join(' '));
    }
  });

  it('creates a token that enrolls once, lists and disables the gateway, all audited', async () => {
    const created = await admin([
      '--db',
      dbFile,
      'token',
      'create',
      '--gateway',
      'cab-9',
      '--ttl',
      '2h',
      '--by',
      'li',
    ]);
    assert.equal(created.code, 0, created.err);
    const token = created.out.trim();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, 'stdout holds the token and nothing else');

    // Redeem it through the real HTTP route against the same database file.
    const db = await openCloudDatabase({ sqlitePath: dbFile });
    // The service's credential key file beside the database, which cloud-admin finds there too.
    const { key } = await openCredentialKey(db, join(work, 'credential.key'));
    const server = await startEnrollmentServer({ db, logger: new MemoryLogger(), credentialKey: key });
    try {
      assert.equal((await postEnroll(server.url, JSON.stringify({ token }))).status, 200);
      assert.equal((await postEnroll(server.url, JSON.stringify({ token }))).status, 401);
    } finally {
      await server.close();
      await db.destroy();
    }

    const listed = await admin(['--db', dbFile, 'gateway', 'list', '--json']);
    assert.equal(listed.code, 0, listed.err);
    assert.deepEqual(
      (JSON.parse(listed.out) as { gatewayId: string; disabled: boolean }[]).map((g) => [
        g.gatewayId,
        g.disabled,
      ]),
      [['cab-9', false]],
    );
    assert.equal((await admin(['--db', dbFile, 'gateway', 'disable', 'cab-9', '--by', 'li'])).code, 0);
    assert.match((await admin(['--db', dbFile, 'gateway', 'list'])).out, /cab-9\s+disabled/);
    const missing = await admin(['--db', dbFile, 'gateway', 'disable', 'cab-404', '--by', 'li']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /not enrolled/);

    const check = await openCloudDatabase({ sqlitePath: dbFile });
    try {
      const audit = await listAudit(check, 'cab-9');
      assert.deepEqual(
        audit.map((a) => [a.actor, a.action]),
        [
          ['li', 'token.create'],
          ['enrollment:127.0.0.1', 'enroll'],
          ['enrollment:127.0.0.1', 'enroll.refused'],
          ['li', 'gateway.disable'],
        ],
      );
      assert.ok(!JSON.stringify(audit).includes(token));
    } finally {
      await check.destroy();
    }
  });

  it('creates a service account once (secret on stdout only) and writes the mosquitto files', async () => {
    const created = await admin(['--db', dbFile, 'service-account', 'create', 'ingest', '--by', 'li']);
    assert.equal(created.code, 0, created.err);
    const secret = created.out.trim();
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    assert.match(created.err, /service\.ingest on mosquitto/);
    const again = await admin(['--db', dbFile, 'service-account', 'create', 'ingest', '--by', 'li']);
    assert.equal(again.code, 1);
    assert.match(again.err, /exists already/);
    const rotated = await admin([
      '--db',
      dbFile,
      'service-account',
      'create',
      'ingest',
      '--by',
      'li',
      '--rotate',
    ]);
    assert.equal(rotated.code, 0, rotated.err);
    assert.notEqual(rotated.out.trim(), secret);

    const out = join(work, 'broker');
    const files = await admin([
      ...['--db', dbFile, 'mosquitto-files', '--out', out, '--install-dir', '/etc/mosquitto/kerbside'],
      ...['--tls-ca', '/etc/ssl/ca.pem', '--tls-cert', '/etc/ssl/mqtt.pem', '--tls-key', '/etc/ssl/mqtt.key'],
    ]);
    assert.equal(files.code, 0, files.err);
    const conf = readFileSync(join(out, 'mosquitto.conf'), 'utf8');
    assert.match(conf, /^password_file \/etc\/mosquitto\/kerbside\/gateways\.passwd$/m);
    assert.match(conf, /^password_file \/etc\/mosquitto\/kerbside\/services\.passwd$/m);
    assert.match(conf, /^listener 8883$/m);
    assert.match(conf, /^certfile \/etc\/ssl\/mqtt.pem$/m);
    assert.match(conf, /^persistence true$/m);
    const services = readFileSync(join(out, 'services.passwd'), 'utf8');
    assert.match(services, /^service\.ingest:\$7\$/m);
    const gateways = readFileSync(join(out, 'gateways.passwd'), 'utf8');
    assert.doesNotMatch(gateways, /^service\./m, 'no service account where gateways log in');
    assert.doesNotMatch(gateways, /^cab-9:/m, 'the disabled gateway is left out');
    const acl = readFileSync(join(out, 'services.acl'), 'utf8');
    assert.match(
      acl,
      new RegExp(
        [
          '^user service\\.ingest',
          'topic read kerbside/v1/\\+/up/events',
          'topic read kerbside/v1/\\+/up/status',
          'topic write kerbside/v1/\\+/down/ack',
          'topic write kerbside/v1/\\+/down/cmd',
          'topic write kerbside/v1/\\+/down/config$',
        ].join('\n'),
        'm',
      ),
    );
  });

  it('runs as a program: exit code 2 for bad arguments', async () => {
    const result = await runTsx(
      'cloud-sync/service/cli.ts',
      ['token', 'create', '--gateway', 'NOPE', '--by', 'li'],
      { timeoutMs: 20_000, env: { DATABASE_URL: '' } },
    );
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /gateway id/);
  });
});
