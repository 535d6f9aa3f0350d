/**
 * Prototype pollution (docs/security.md): the cloud service's configuration file refuses the keys
 * `__proto__`, `prototype` and `constructor` (JSON.parse keeps `__proto__` as a key) with their
 * pointers, before anything walks the document, and nothing lands on Object.prototype.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CloudConfigError, loadCloudConfig } from '../../../cloud-sync/service/config.js';

describe('cloud service configuration: forbidden keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kerbside-cloud-forbidden-'));
  after(() => {
    delete (Object.prototype as Record<string, unknown>)['polluted'];
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [text, pointer] of [
    ['{"http":{"__proto__":{"polluted":true}}}', '/http/__proto__'],
    ['{"cases":{"constructor":{"prototype":{"polluted":true}}}}', '/cases/constructor'],
    ['{"__proto__":{"polluted":true}}', '/__proto__'],
  ] as const) {
    it(`refuses ${text} at ${pointer}`, () => {
      const file = join(dir, 'cloud.json');
      writeFileSync(file, text);
      let issues: readonly { pointer: string }[] = [];
      try {
        loadCloudConfig({ file, env: {}, cwd: dir });
        assert.fail('the configuration was accepted');
      } catch (error) {
        assert.ok(error instanceof CloudConfigError, String(error));
        issues = error.issues;
      }
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
      assert.ok(
        issues.some((i) => i.pointer === pointer),
        JSON.stringify(issues),
      );
    });
  }
});
