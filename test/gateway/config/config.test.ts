import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { planBuses } from '../../../gateway/config/bus-plan.js';
import { ConfigError } from '../../../gateway/config/errors.js';
import { loadGatewayConfig } from '../../../gateway/config/load.js';
import type { GatewayConfig } from '../../../gateway/config/types.js';
import { loadProfileDirectory } from '../../../gateway/profiles/loader.js';
import { DEFAULT_OUTBOX_QUOTAS } from '../../../gateway/store/outbox.js';
import { PROFILES, refusedConfig, validConfig, validDocument } from './fixtures.js';
import type { Issue } from '../../../cloud-sync/contract/errors.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'kerbside-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const valid = (doc: unknown): GatewayConfig => validConfig(doc);
const issuesOf = (doc: unknown): Issue[] => refusedConfig(doc, PROFILES, process.cwd());

/** Issues as "pointer: message" lines, for readable assertion failures. */
function lines(issues: Issue[]): string[] {
  return issues.map((i) => `${i.pointer}: ${i.message}`);
}

function hasIssue(issues: Issue[], pointer: string, pattern: RegExp): void {
  assert.ok(
    issues.some((i) => i.pointer === pointer && pattern.test(i.message)),
    `no issue at ${pointer} matching ${pattern}; got:\n  ${lines(issues).join('\n  ')}`,
  );
}

function writeConfig(name: string, content: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

describe('validateGatewayConfig: valid documents', () => {
  it('accepts a valid document and applies every default', () => {
    const config = valid(validDocument());
    assert.equal(config.gatewayId, 'gw-test-1');
    assert.equal(config.dataDir, '/srv/kerbside/.kerbside-data', 'relative dataDir resolved against baseDir');
    assert.deepEqual(config.log, { level: 'info' });
    assert.deepEqual(config.storage, {
      rawRetention: { maxRows: 2_000_000, maxAgeS: 604_800 },
      outbox: { quotas: { ...DEFAULT_OUTBOX_QUOTAS } },
    });
    // Modbus over Serial Line v1.02 section 2.5.1: 9600 8E1 by default, on both serial kinds.
    const serial = { baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1 };
    assert.deepEqual(config.buses[0], { id: 'line-1', kind: 'rtu', path: '/dev/ttyUSB0', serial });
    assert.deepEqual(config.buses[1], {
      id: 'server',
      kind: 'rtu-over-tcp',
      host: '10.0.0.20',
      port: 4001,
      serial,
    });
    assert.deepEqual(config.buses[2], { id: 'tcp', kind: 'tcp', host: 'gas.local', port: 502 });
  });

  it('takes poll interval and timeout from the profile unless the device sets them; retries default to 1', () => {
    const [gas1, lamps, gas2] = valid(validDocument()).devices;
    assert.deepEqual(
      { poll: gas1?.pollIntervalMs, timeout: gas1?.timeoutMs, retries: gas1?.retries },
      { poll: 2000, timeout: 300, retries: 1 },
    );
    assert.deepEqual(
      { poll: lamps?.pollIntervalMs, timeout: lamps?.timeoutMs, retries: lamps?.retries },
      { poll: 1000, timeout: 500, retries: 3 },
    );
    assert.equal(gas2?.timeoutMs, 900);
  });

  it('keeps an absolute dataDir, optional names and locations', () => {
    const doc = validDocument();
    doc['dataDir'] = '/var/lib/kerbside';
    doc['site'] = { name: 'Pier 3', latitude: 31.2, longitude: 121.5 };
    const devices = doc['devices'] as Array<Record<string, unknown>>;
    Object.assign(devices[0] ?? {}, {
      name: 'Gas vault',
      location: { description: 'vault under the kerb', latitude: 31.2, longitude: 121.5 },
    });
    const config = valid(doc);
    assert.equal(config.dataDir, '/var/lib/kerbside');
    assert.deepEqual(config.site, { name: 'Pier 3', latitude: 31.2, longitude: 121.5 });
    assert.equal(config.devices[0]?.name, 'Gas vault');
    assert.equal(config.devices[0]?.location?.description, 'vault under the kerb');
  });

  it('allows the same unit id on different buses, and unit ids 0 and 255 on Modbus TCP', () => {
    const doc = validDocument();
    doc['devices'] = [
      { id: 'a', bus: 'line-1', unitId: 1, profile: 'test-gd1' },
      { id: 'b', bus: 'server', unitId: 1, profile: 'test-gd1' },
      { id: 'c', bus: 'tcp', unitId: 0, profile: 'test-gd1' },
      { id: 'd', bus: 'tcp', unitId: 255, profile: 'test-gd1' },
    ];
    assert.equal(valid(doc).devices.length, 4);
  });

  it('does not modify the document it is given', () => {
    const doc = validDocument();
    const before = JSON.stringify(doc);
    valid(doc);
    assert.equal(JSON.stringify(doc), before);
  });

  it('accepts the shipped example against the shipped profiles', () => {
    const { profiles, issues } = loadProfileDirectory();
    assert.deepEqual(issues, []);
    const config = loadGatewayConfig(join(REPO, 'gateway/config/example.json'), profiles);
    assert.equal(
      config.dataDir,
      join(REPO, 'gateway/config/.kerbside-data'),
      'dataDir is relative to the file',
    );
    assert.equal(config.devices.length, 4);
  });
});

describe('validateGatewayConfig: every problem at once', () => {
  it('reports every schema violation of one document, each with its pointer', () => {
    const doc = {
      gatewayId: 'Gateway 1', // not lower-case kebab
      site: { latitude: 95 }, // no name; latitude out of range and without longitude
      dataDir: '',
      log: { level: 'loud' },
      buses: [
        { id: 'line-1', kind: 'rtu', serial: { baudRate: 9601, parity: 'mark' } }, // no path
        { id: 'tcp', kind: 'tcp', host: 'gw.local', port: 0, tls: true },
        { id: 'x', kind: 'canbus' },
      ],
      devices: [
        { id: 'gas-1', bus: 'line-1', unitId: 300, profile: 'test-gd1', pollIntervalMs: 10, retries: 9 },
        { id: 'gas 2', bus: 'line-1', unitId: '2', profile: 'test-gd1', colour: 'red' },
        { bus: 'line-1', unitId: 3 },
      ],
      storage: { rawRetention: { maxRows: 10 } },
      extra: 1,
    };
    const issues = issuesOf(doc);
    const expected: Array<[string, RegExp]> = [
      ['/gatewayId', /lower-case letters and digits separated by single hyphens, not "Gateway 1"/],
      ['/site/name', /is required/],
      ['/site', /'latitude' needs 'longitude'/],
      ['/site/latitude', /must be <= 90, not 95/],
      ['/dataDir', /must not be empty/],
      ['/log/level', /must be one of "fatal", .*"silent", not "loud"/],
      ['/buses/0/path', /is required/],
      ['/buses/0/serial/baudRate', /must be one of 1200, .* not 9601/],
      ['/buses/0/serial/parity', /must be one of "none", "even", "odd", not "mark"/],
      ['/buses/1/port', /must be >= 1, not 0/],
      ['/buses/1/tls', /unknown property 'tls'/],
      ['/buses/2/kind', /must be one of "rtu", "rtu-over-tcp", "tcp", not "canbus"/],
      ['/devices/0/unitId', /must be <= 255, not 300/],
      ['/devices/0/pollIntervalMs', /must be >= 50, not 10/],
      ['/devices/0/retries', /must be <= 5, not 9/],
      ['/devices/1/id', /separated by single '-' or '_', not "gas 2"/],
      ['/devices/1/unitId', /must be an integer, not "2"/],
      ['/devices/1/colour', /unknown property 'colour'/],
      ['/devices/2/id', /is required/],
      ['/devices/2/profile', /is required/],
      ['/storage/rawRetention/maxRows', /must be >= 1000, not 10/],
      ['/extra', /unknown property 'extra'/],
    ];
    for (const [pointer, pattern] of expected) hasIssue(issues, pointer, pattern);
    assert.equal(issues.length, expected.length, `unexpected extra issues:\n  ${lines(issues).join('\n  ')}`);
  });

  it('reports a wrong kind once, not once per bus variant', () => {
    const doc = validDocument();
    doc['buses'] = [{ id: 'b', kind: 'modbus-ascii', path: '/dev/x' }];
    doc['devices'] = [];
    assert.deepEqual(lines(issuesOf(doc)), [
      '/buses/0/kind: must be one of "rtu", "rtu-over-tcp", "tcp", not "modbus-ascii"',
    ]);
  });

  it('reports only the fields of the bus kind given, not those of the other kinds', () => {
    const doc = validDocument();
    doc['buses'] = [{ id: 'b', kind: 'tcp', host: 'h', path: '/dev/ttyS0' }];
    doc['devices'] = [];
    assert.deepEqual(lines(issuesOf(doc)), ["/buses/0/path: unknown property 'path'"]);
  });

  it('reports semantic problems together with schema problems', () => {
    const doc = validDocument();
    doc['gatewayId'] = 'GW';
    (doc['devices'] as unknown[]).push({ id: 'gas-1', bus: 'line-1', unitId: 9, profile: 'test-gd1' });
    const issues = issuesOf(doc);
    hasIssue(issues, '/gatewayId', /lower-case/);
    hasIssue(issues, '/devices/4/id', /duplicate device id 'gas-1' \(first defined at \/devices\/0\)/);
  });
});

describe('validateGatewayConfig: semantic rules', () => {
  it('rejects duplicate device ids and bus ids', () => {
    const doc = validDocument();
    (doc['buses'] as unknown[]).push({ id: 'tcp', kind: 'tcp', host: 'other.local' });
    (doc['devices'] as unknown[]).push({ id: 'lamps', bus: 'tcp', unitId: 7, profile: 'test-lc1' });
    const issues = issuesOf(doc);
    hasIssue(issues, '/buses/3/id', /duplicate bus id 'tcp' \(first defined at \/buses\/2\)/);
    hasIssue(issues, '/devices/4/id', /duplicate device id 'lamps' \(first defined at \/devices\/1\)/);
    assert.equal(issues.length, 2, lines(issues).join('\n'));
  });

  it('rejects a unit id used twice on one bus', () => {
    const doc = validDocument();
    (doc['devices'] as unknown[]).push({ id: 'gas-9', bus: 'line-1', unitId: 2, profile: 'test-gd1' });
    assert.deepEqual(lines(issuesOf(doc)), [
      "/devices/4/unitId: unit id 2 on bus 'line-1' is already used by device 'lamps' (/devices/1)",
    ]);
  });

  it('rejects a device on a bus that does not exist, naming the buses that do', () => {
    const doc = validDocument();
    (doc['devices'] as unknown[]).push({ id: 'gas-9', bus: 'line-2', unitId: 9, profile: 'test-gd1' });
    assert.deepEqual(lines(issuesOf(doc)), [
      "/devices/4/bus: no bus 'line-2' is defined (buses: 'line-1', 'server', 'tcp')",
    ]);
  });

  it('rejects a profile that is not loaded, naming those that are', () => {
    const doc = validDocument();
    (doc['devices'] as unknown[]).push({ id: 'gas-9', bus: 'line-1', unitId: 9, profile: 'acme-x1' });
    assert.deepEqual(lines(issuesOf(doc)), [
      "/devices/4/profile: unknown profile 'acme-x1' (known profiles: 'test-gd1', 'test-lc1')",
    ]);
  });

  it('rejects unit ids outside 1..247 on serial buses (broadcast and reserved addresses)', () => {
    const doc = validDocument();
    doc['devices'] = [
      { id: 'a', bus: 'line-1', unitId: 0, profile: 'test-gd1' },
      { id: 'b', bus: 'server', unitId: 248, profile: 'test-gd1' },
    ];
    const issues = issuesOf(doc);
    hasIssue(issues, '/devices/0/unitId', /must be 1\.\.247 on serial bus 'line-1'.*not 0/);
    hasIssue(issues, '/devices/1/unitId', /must be 1\.\.247 on serial bus 'server'.*not 248/);
  });

  it('rejects a poll interval under 50 ms', () => {
    const doc = validDocument();
    doc['devices'] = [{ id: 'a', bus: 'line-1', unitId: 1, profile: 'test-gd1', pollIntervalMs: 49 }];
    assert.deepEqual(lines(issuesOf(doc)), ['/devices/0/pollIntervalMs: must be >= 50, not 49']);
  });

  it('rejects two buses on one serial port or one TCP endpoint', () => {
    const doc = validDocument();
    (doc['buses'] as unknown[]).push(
      { id: 'line-1b', kind: 'rtu', path: '/dev/ttyUSB0' },
      { id: 'tcp-b', kind: 'tcp', host: 'GAS.local', port: 502 },
    );
    const issues = issuesOf(doc);
    hasIssue(issues, '/buses/3/path', /serial port \/dev\/ttyUSB0 is already used by \/buses\/0/);
    hasIssue(issues, '/buses/4/host', /endpoint GAS\.local:502 is already used by \/buses\/2/);
  });

  it('rejects 7 data bits on an RTU line', () => {
    const doc = validDocument();
    doc['buses'] = [{ id: 'line-1', kind: 'rtu', path: '/dev/ttyS1', serial: { dataBits: 7 } }];
    doc['devices'] = [];
    assert.deepEqual(lines(issuesOf(doc)), [
      '/buses/0/serial/dataBits: Modbus RTU needs 8 data bits (7 is Modbus ASCII, which the gateway does not speak)',
    ]);
  });
});

describe('loadGatewayConfig', () => {
  it('throws one ConfigError with every issue, each with its line', () => {
    const path = writeConfig(
      'lines.json',
      [
        '{',
        '  "gatewayId": "gw-1",',
        '  "site": { "name": "x" },',
        '  "buses": [{ "id": "b", "kind": "tcp", "host": "h" }],',
        '  "devices": [',
        '    { "id": "d1", "bus": "b", "unitId": 1, "profile": "nope" },',
        '    { "id": "d2", "bus": "c", "unitId": 1, "profile": "test-gd1", "pollIntervalMs": 5 }',
        '  ]',
        '}',
      ].join('\n'),
    );
    assert.throws(
      () => loadGatewayConfig(path, PROFILES),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, 'CONFIG_INVALID');
        assert.deepEqual(
          error.issues.map((i) => `${i.line}:${i.pointer}`),
          ['6:/devices/0/profile', '7:/devices/1/pollIntervalMs', '7:/devices/1/bus'],
        );
        assert.match(error.message, /3 issues/);
        return true;
      },
    );
  });

  it('reports malformed JSON with its line', () => {
    const path = writeConfig(
      'broken.json',
      '{\n  "gatewayId": "gw-1",\n  "site": { "name": "x" }\n  "buses": []\n}',
    );
    assert.throws(
      () => loadGatewayConfig(path, PROFILES),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.code === 'CONFIG_INVALID' &&
        error.issues.length === 1 &&
        error.issues[0]?.line === 4 &&
        /malformed JSON/.test(error.issues[0].message),
    );
  });

  it('reports a missing file as CONFIG_UNREADABLE', () => {
    assert.throws(
      () => loadGatewayConfig(join(tmp, 'missing.json'), PROFILES),
      (error: unknown) =>
        error instanceof ConfigError && error.code === 'CONFIG_UNREADABLE' && /ENOENT/.test(error.message),
    );
  });
});

describe('planBuses', () => {
  it('maps the configuration to one BusConfig with its BusDeviceConfigs per bus', () => {
    const config = valid(validDocument());
    const plans = planBuses(config, PROFILES);
    assert.deepEqual(
      plans.map((p) => [p.bus.id, p.devices.map((d) => d.id)]),
      [
        ['line-1', ['gas-1', 'lamps']],
        ['server', ['gas-2']],
        ['tcp', ['gas-3']],
      ],
    );
    const lamps = plans[0]?.devices[1];
    assert.equal(lamps?.profile, PROFILES.get('test-lc1'));
    assert.deepEqual(
      {
        unitId: lamps?.unitId,
        poll: lamps?.pollIntervalMs,
        timeout: lamps?.timeoutMs,
        retries: lamps?.retries,
      },
      { unitId: 2, poll: 1000, timeout: 500, retries: 3 },
    );
  });
});

describe('gateway/main.ts with a bad configuration (real process)', () => {
  function runMain(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/main.ts', ...args], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LOG_LEVEL: 'silent' },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it('exits 2 and prints every error with its pointer to stderr', () => {
    const path = writeConfig('bad.json', {
      gatewayId: 'GW 1',
      site: { name: 'x' },
      buses: [
        { id: 'line-1', kind: 'rtu', path: '/dev/ttyUSB0', serial: { baudRate: 9601 } },
        { id: 'line-1', kind: 'tcp', host: 'h' },
      ],
      devices: [
        { id: 'lighting', bus: 'line-1', unitId: 1, profile: 'kerbtek-lc3200', pollIntervalMs: 10 },
        { id: 'lighting', bus: 'line-9', unitId: 1, profile: 'no-such-profile' },
      ],
    });
    const { status, stdout, stderr } = runMain(['--config', path]);
    assert.equal(status, 2, stderr);
    assert.equal(stdout, '', 'nothing starts, so nothing is logged');
    const expected = [
      '/gatewayId',
      '/buses/0/serial/baudRate',
      '/buses/1/id',
      '/devices/0/pollIntervalMs',
      '/devices/1/id',
      '/devices/1/bus',
      '/devices/1/profile',
    ];
    for (const pointer of expected) assert.match(stderr, new RegExp(`bad\\.json:\\d+ ${pointer}: `), pointer);
    assert.match(stderr, /\(7 issues\)/);
  });

  it('exits 2 when a device profile is invalid, printing the issue', () => {
    const profiles = join(tmp, 'profiles');
    mkdirSync(join(profiles, 'gas-detector'), { recursive: true });
    writeFileSync(join(profiles, 'gas-detector', 'acme-g1.json'), '{ "id": "acme-g1" }');
    const path = writeConfig('fine.json', { gatewayId: 'gw', site: { name: 'x' }, buses: [], devices: [] });
    const { status, stderr } = runMain(['--config', path, '--profiles', profiles]);
    assert.equal(status, 2, stderr);
    assert.match(stderr, /acme-g1\.json/);
  });

  it('exits 2 on a bad command line and 0 for --check on a valid file', () => {
    assert.equal(runMain([]).status, 2, 'missing --config');
    const { status, stdout } = runMain(['--config', 'gateway/config/example.json', '--check']);
    assert.equal(status, 0);
    assert.match(stdout, /is valid: 3 buses, 4 devices/);
  });
});
