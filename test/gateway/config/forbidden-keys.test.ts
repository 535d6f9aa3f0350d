/**
 * Prototype pollution (docs/security.md): keys and pointer segments that name a property of every
 * JavaScript object (`__proto__`, `constructor`, `prototype`) arrive from outside through a SIGHUP
 * re-read of the configuration file, a technician's local override, a cloud configuration
 * document, the configuration file itself and device profile files. JSON.parse makes `__proto__`
 * an own property, so it survives into the overlay; a walk that follows it writes onto
 * Object.prototype, which breaks every object (and ajv) until restart. Each path must refuse the
 * input with an issue naming the pointer, and leave Object.prototype untouched.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { configDocumentHash } from '../../../cloud-sync/contract/config-document.js';
import type { ConfigResultEvent, GatewayEventBody } from '../../../cloud-sync/contract/events.js';
import { parseConfigDocument } from '../../../cloud-sync/contract/validate.js';
import { ConfigError } from '../../../gateway/config/errors.js';
import { loadGatewayConfig } from '../../../gateway/config/load.js';
import { overlaid, validateOverlaid } from '../../../gateway/config/overlay.js';
import { validateGatewayConfig } from '../../../gateway/config/validate.js';
import { ConfigDownlink, type ConfigHost } from '../../../gateway/downlink/remote-config.js';
import { ProfileError, defaultProfileDirectory, loadProfileText } from '../../../gateway/profiles/loader.js';
import type { StoreCycle } from '../../../gateway/store/event-store.js';
import { PROFILES, validDocument } from './fixtures.js';
import { signedPayload, testDownlinkKey, testVerifier } from '../../helpers/downlink-signing.js';

/** Whether anything was written onto Object.prototype: a fresh object shows it. */
function polluted(): unknown {
  return ({} as Record<string, unknown>)['polluted'];
}

/** ajv (through the configuration schema) still works on a fresh, valid document. */
function ajvStillWorks(): void {
  const result = validateGatewayConfig(validDocument(), PROFILES);
  assert.ok(result.ok, JSON.stringify(result.ok ? null : result.issues));
}

const parse = (text: string): unknown => JSON.parse(text) as unknown;

/** The valid document with a `__proto__` rule on gas-1's alarms, as JSON.parse reads it. */
const PROTO_RULE = parse(
  JSON.stringify(validDocument()).replace(
    '"id":"gas-1",',
    '"id":"gas-1","alarms":{"__proto__":{"polluted":true}},',
  ),
);

afterEach(() => {
  // A failing run must not leave the next test (or file) a polluted prototype.
  delete (Object.prototype as Record<string, unknown>)['polluted'];
});

describe('the overlay (local overrides, SIGHUP changes)', () => {
  for (const pointer of [
    '/alarms/gas-1/__proto__/polluted',
    '/lighting/__proto__/polluted',
    '/alarms/gas-1/h2s_high/__proto__/polluted',
    '/alarms/gas-1/constructor/prototype/polluted',
    '/lighting/constructor/prototype/polluted',
  ]) {
    it(`refuses the override ${pointer}, naming it, and pollutes nothing`, () => {
      const { issues } = overlaid(validDocument(), null, [{ pointer, value: true }]);
      assert.equal(polluted(), undefined, 'Object.prototype was written');
      const issue = issues.find((i) => i.pointer === pointer);
      assert.ok(issue, JSON.stringify(issues));
      assert.match(issue.message, /__proto__|constructor|prototype/);
      ajvStillWorks();
    });
  }

  it('refuses an override value with a forbidden key, at the key inside the value', () => {
    const value = parse('{"on":"18:00","__proto__":{"polluted":true}}');
    const result = validateOverlaid(validDocument(), null, [{ pointer: '/lighting/rules', value }], PROFILES);
    assert.equal(polluted(), undefined);
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.issues.some((i) => i.pointer === '/lighting/rules/__proto__'));
  });

  it('still sets a valid override', () => {
    const result = validateOverlaid(
      validDocument(),
      null,
      [{ pointer: '/devices/gas-1/pollIntervalMs', value: 750 }],
      PROFILES,
    );
    assert.ok(result.ok, JSON.stringify(result.ok ? null : result.issues));
    assert.equal(result.config.devices.find((d) => d.id === 'gas-1')?.pollIntervalMs, 750);
  });
});

const SIGNING_KEY = testDownlinkKey();
const SIGNED_FOR = 'gw-forbidden-keys';

/** A ConfigDownlink on the fixtures, recording what it commits; the swap always succeeds. */
function downlink(): { config: ConfigDownlink; events: GatewayEventBody[]; swaps: number } {
  const committed: StoreCycle[] = [];
  const state = {
    config: undefined as unknown as ConfigDownlink,
    events: [] as GatewayEventBody[],
    swaps: 0,
  };
  const host: ConfigHost = {
    store: {
      now: () => ({ monoMs: 1, wallMs: 1_700_000_000_000 }),
      configVersion: () => undefined,
      activeConfigVersion: () => null,
      localOverrides: () => [],
    },
    committer: {
      commit(cycle, announce) {
        committed.push(cycle);
        state.events.push(...(cycle.events ?? []));
        const result = { firstSeq: null, lastSeq: null, count: 0, seqs: [] };
        announce?.(result as never);
        return result as never;
      },
    },
    profiles: PROFILES,
    swap: () => {
      state.swaps++;
      return { output: { transitions: [], chattering: [], records: [] }, undo: () => undefined };
    },
    statusChanged: () => undefined,
    // Documents are signed like the cloud's (docs/downlink-signing.md): the check stays on.
    verifier: testVerifier(SIGNED_FOR, [SIGNING_KEY.publicKey]),
    logger: pino({ level: 'silent' }),
  };
  state.config = new ConfigDownlink(host, { document: validDocument(), baseDir: tmpdir() });
  return state;
}

describe('the SIGHUP re-read (ConfigDownlink.reloadFile, under Gateway.reloadConfigFile)', () => {
  it('refuses a re-read file with a __proto__ rule key, naming the pointer, polluting nothing', () => {
    const d = downlink();
    const summary = d.config.reloadFile(PROTO_RULE);
    assert.equal(polluted(), undefined, 'Object.prototype was written');
    assert.deepEqual(summary.overrides, []);
    assert.ok(
      summary.issues.some((i) => i.pointer === '/devices/0/alarms/__proto__'),
      JSON.stringify(summary.issues),
    );
    assert.equal(d.swaps, 0, 'nothing was swapped in');
    ajvStillWorks();
  });

  it('refuses constructor and prototype keys as well', () => {
    const d = downlink();
    const text = JSON.stringify(validDocument()).replace(
      '"id":"gas-1",',
      '"id":"gas-1","alarms":{"constructor":{"prototype":{"polluted":true}}},',
    );
    const summary = d.config.reloadFile(parse(text));
    assert.equal(polluted(), undefined);
    assert.ok(
      summary.issues.some((i) => i.pointer === '/devices/0/alarms/constructor'),
      JSON.stringify(summary.issues),
    );
    assert.equal(d.swaps, 0);
  });

  it('still turns a valid change into a local override', () => {
    const d = downlink();
    const changed = parse(
      JSON.stringify(validDocument()).replace('"id":"gas-1",', '"id":"gas-1","pollIntervalMs":750,'),
    );
    const summary = d.config.reloadFile(changed);
    assert.deepEqual(summary.issues, []);
    assert.deepEqual(summary.overrides, ['/devices/gas-1/pollIntervalMs']);
    assert.equal(d.swaps, 1);
  });
});

describe('a configuration document from the cloud (down/config)', () => {
  const payload = (documentText: string): string => {
    const document = parse(documentText) as Record<string, unknown>;
    return `{"version":1,"hash":"${configDocumentHash(document)}","document":${documentText}}`;
  };
  const signed = (documentText: string): string =>
    signedPayload(SIGNING_KEY, 'down/config', SIGNED_FOR, payload(documentText));
  const cases: Array<[string, string]> = [
    ['{"alarms":{"gas-1":{"__proto__":{"polluted":true}}}}', '/document/alarms/gas-1/__proto__'],
    ['{"alarms":{"__proto__":{"x":{"polluted":true}}}}', '/document/alarms/__proto__'],
    [
      '{"lighting":{"rules":[{"constructor":{"prototype":{"polluted":true}}}]}}',
      '/document/lighting/rules/0/constructor',
    ],
    ['{"devices":{"prototype":{"name":"x"}}}', '/document/devices/prototype'],
  ];

  for (const [documentText, pointer] of cases) {
    it(`the contract refuses ${documentText} at ${pointer}`, () => {
      const parsed = parseConfigDocument(payload(documentText));
      assert.equal(polluted(), undefined);
      assert.equal(parsed.ok, false);
      assert.ok(!parsed.ok && parsed.errors.some((e) => e.pointer === pointer), JSON.stringify(parsed));
    });
  }

  it('the gateway rejects it with the pointer in the config_result and pollutes nothing', () => {
    const d = downlink();
    d.config.handle(signed('{"alarms":{"gas-1":{"__proto__":{"polluted":true}}}}'));
    assert.equal(polluted(), undefined);
    const result = d.events.find((e): e is ConfigResultEvent => e.kind === 'config_result');
    assert.equal(result?.status, 'rejected', JSON.stringify(d.events));
    assert.ok(
      result.errors.some((e) => e.pointer === '/alarms/gas-1/__proto__'),
      JSON.stringify(result.errors),
    );
    assert.equal(d.swaps, 0);
    assert.equal(d.config.activeVersion(), null);
    ajvStillWorks();
  });
});

describe('files: the gateway configuration file and device profiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kerbside-forbidden-keys-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

  function configIssues(text: string): { pointer: string; line?: number | undefined }[] {
    const file = join(dir, 'gateway.json');
    writeFileSync(file, text);
    try {
      loadGatewayConfig(file, PROFILES);
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return [...error.issues];
    }
    return assert.fail('the configuration file was accepted');
  }

  it('refuses a configuration file with a __proto__ key, with pointer and line', () => {
    const text = JSON.stringify(validDocument(), null, 2).replace(
      '"id": "gas-1",',
      '"id": "gas-1",\n      "__proto__": { "polluted": true },',
    );
    const issues = configIssues(text);
    assert.equal(polluted(), undefined);
    const issue = issues.find((i) => i.pointer === '/devices/0/__proto__');
    assert.ok(issue, JSON.stringify(issues));
    assert.equal(typeof issue.line, 'number');
  });

  it('refuses a configuration file with a constructor key at the top', () => {
    const text = JSON.stringify({ ...validDocument(), constructor: { prototype: { polluted: true } } });
    const issues = configIssues(text);
    assert.equal(polluted(), undefined);
    assert.ok(
      issues.some((i) => i.pointer === '/constructor'),
      JSON.stringify(issues),
    );
  });

  const profileFile = join(defaultProfileDirectory(), 'gas-detector', 'anqi-gd300.json');
  const profileText = readFileSync(profileFile, 'utf8');

  function profileIssues(text: string): { pointer: string }[] {
    try {
      loadProfileText(text, profileFile);
    } catch (error) {
      assert.ok(error instanceof ProfileError, String(error));
      return [...error.issues];
    }
    return assert.fail('the profile was accepted');
  }

  it('the shipped profile loads (the control)', () => {
    assert.equal(loadProfileText(profileText, profileFile).id, 'anqi-gd300');
  });

  it('refuses a device profile with a __proto__ key, naming the pointer', () => {
    const issues = profileIssues(profileText.replace('{', '{"__proto__": {"polluted": true},'));
    assert.equal(polluted(), undefined);
    assert.ok(
      issues.some((i) => i.pointer === '/__proto__'),
      JSON.stringify(issues),
    );
  });

  it('refuses a device profile with a nested prototype key, naming the pointer', () => {
    const doc = parse(profileText) as Record<string, unknown>;
    const points = doc['points'] as Array<Record<string, unknown>>;
    const text = JSON.stringify({ ...doc, points: [{ ...points[0], prototype: 1 }, ...points.slice(1)] });
    const issues = profileIssues(text);
    assert.ok(
      issues.some((i) => i.pointer === '/points/0/prototype'),
      JSON.stringify(issues),
    );
  });
});
