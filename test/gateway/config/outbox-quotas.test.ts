/**
 * storage.outbox: the outbox quotas and the telemetry eviction step as configuration (issue 10
 * part 6). The schema's defaults are the store's (one source of truth), every class has its
 * quota, and a bad value is refused with its pointer (and its line, from a file).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, formatConfigIssue } from '../../../gateway/config/errors.js';
import { loadGatewayConfig } from '../../../gateway/config/load.js';
import { GATEWAY_CONFIG_SCHEMA, valueAt } from '../../../gateway/config/schema.js';
import type { GatewayConfig } from '../../../gateway/config/types.js';
import { DEFAULT_OUTBOX_QUOTAS, OUTBOX_CLASSES } from '../../../gateway/store/outbox.js';
import { DEFAULT_STORE_RETENTION } from '../../../gateway/store/retention.js';
import { PROFILES, refusedConfig, validConfig, validDocument } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'kerbside-outbox-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function withStorage(storage: unknown): Record<string, unknown> {
  return { ...validDocument(), storage };
}

const valid = (doc: unknown): GatewayConfig => validConfig(doc, PROFILES, process.cwd());
/** Issues as "pointer: message" lines. */
const issueLines = (doc: unknown): string[] =>
  refusedConfig(doc, PROFILES, process.cwd()).map((i) => `${i.pointer}: ${i.message}`);

/** The `default` of each property of a schema object node. */
function schemaDefaults(pointer: string): Record<string, unknown> {
  const properties = valueAt(GATEWAY_CONFIG_SCHEMA, `${pointer}/properties`) as Record<
    string,
    { default?: unknown }
  >;
  return Object.fromEntries(Object.entries(properties).map(([key, node]) => [key, node.default]));
}

describe('storage.outbox: one source of truth for the defaults', () => {
  it("the schema's quota defaults are DEFAULT_OUTBOX_QUOTAS, with a quota for every outbox class", () => {
    const defaults = schemaDefaults('/properties/storage/properties/outbox/properties/quotas');
    assert.deepEqual(defaults, { ...DEFAULT_OUTBOX_QUOTAS });
    assert.deepEqual(Object.keys(defaults).sort(), [...OUTBOX_CLASSES].sort());
  });

  it("the schema's raw retention defaults are DEFAULT_STORE_RETENTION.raw", () => {
    const defaults = schemaDefaults('/properties/storage/properties/rawRetention');
    assert.deepEqual(defaults, { ...DEFAULT_STORE_RETENTION.raw });
  });

  it('a document without storage gets every default quota and no eviction step (the store derives it)', () => {
    const { outbox } = valid(validDocument()).storage;
    assert.deepEqual(outbox, { quotas: { ...DEFAULT_OUTBOX_QUOTAS } });
  });
});

describe('storage.outbox: accepted', () => {
  it('takes the quotas given and the defaults for the other classes', () => {
    const config = valid(
      withStorage({ outbox: { quotas: { telemetry: 200, config_result: 50 }, telemetryEvictRows: 20 } }),
    );
    assert.deepEqual(config.storage.outbox, {
      quotas: { ...DEFAULT_OUTBOX_QUOTAS, telemetry: 200, config_result: 50 },
      telemetryEvictRows: 20,
    });
    assert.deepEqual(
      config.storage.rawRetention,
      DEFAULT_STORE_RETENTION.raw,
      'rawRetention keeps its defaults',
    );
  });

  it('accepts the bounds: a quota of 10, an eviction step equal to the quota', () => {
    const quotas = Object.fromEntries(OUTBOX_CLASSES.map((c) => [c, 10]));
    const config = valid(withStorage({ outbox: { quotas, telemetryEvictRows: 10 } }));
    assert.deepEqual(config.storage.outbox, { quotas, telemetryEvictRows: 10 });
    const big = valid(withStorage({ outbox: { quotas: { telemetry: 10_000_000 }, telemetryEvictRows: 1 } }));
    assert.equal(big.storage.outbox.quotas.telemetry, 10_000_000);
  });
});

describe('storage.outbox: refused, with pointers', () => {
  it('refuses a quota below 10 or above 10 000 000, a fraction, a string and an unknown class', () => {
    assert.deepEqual(
      issueLines(
        withStorage({
          outbox: { quotas: { telemetry: 9, alarm: 12.5, gap: '100', audit: 10_000_001, alarms: 100 } },
        }),
      ).sort(),
      [
        '/storage/outbox/quotas/telemetry: must be >= 10, not 9',
        '/storage/outbox/quotas/alarm: must be an integer, not 12.5',
        '/storage/outbox/quotas/audit: must be <= 10000000, not 10000001',
        '/storage/outbox/quotas/gap: must be an integer, not "100"',
        "/storage/outbox/quotas/alarms: unknown property 'alarms'",
      ].sort(),
    );
  });

  it('refuses an eviction step of 0 and unknown keys', () => {
    assert.deepEqual(issueLines(withStorage({ outbox: { telemetryEvictRows: 0, quota: 5 } })).sort(), [
      "/storage/outbox/quota: unknown property 'quota'",
      '/storage/outbox/telemetryEvictRows: must be >= 1, not 0',
    ]);
  });

  it('refuses an eviction step larger than the telemetry quota, given or default', () => {
    assert.deepEqual(
      issueLines(withStorage({ outbox: { quotas: { telemetry: 200 }, telemetryEvictRows: 201 } })),
      [
        '/storage/outbox/telemetryEvictRows: must be at most the telemetry quota (/storage/outbox/quotas/telemetry is 200), not 201',
      ],
    );
    assert.deepEqual(issueLines(withStorage({ outbox: { telemetryEvictRows: 100_001 } })), [
      '/storage/outbox/telemetryEvictRows: must be at most the telemetry quota (/storage/outbox/quotas/telemetry is 100000), not 100001',
    ]);
    // Another class's quota is not the bound.
    valid(withStorage({ outbox: { quotas: { alarm: 10 }, telemetryEvictRows: 500 } }));
  });

  it('reports each issue of a file with its line', () => {
    const path = join(tmp, 'outbox.json');
    writeFileSync(
      path,
      [
        '{',
        '  "gatewayId": "gw-1",',
        '  "site": { "name": "x" },',
        '  "buses": [],',
        '  "devices": [],',
        '  "storage": {',
        '    "outbox": {',
        '      "quotas": {',
        '        "telemetry": 50,',
        '        "alarm": 3',
        '      },',
        '      "telemetryEvictRows": 60',
        '    }',
        '  }',
        '}',
      ].join('\n'),
    );
    assert.throws(
      () => loadGatewayConfig(path, PROFILES),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, 'CONFIG_INVALID');
        assert.deepEqual(
          error.issues.map((i) => formatConfigIssue(i, 'outbox.json')),
          [
            'outbox.json:10 /storage/outbox/quotas/alarm: must be >= 10, not 3',
            'outbox.json:12 /storage/outbox/telemetryEvictRows: must be at most the telemetry quota (/storage/outbox/quotas/telemetry is 50), not 60',
          ],
        );
        return true;
      },
    );
  });
});
