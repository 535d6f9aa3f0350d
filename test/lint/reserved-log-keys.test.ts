/**
 * The lint rule of eslint.config.js that keeps pino's own field names (level, time, pid, hostname,
 * msg) out of log objects: such a field is a second key of the same name on the JSON line, and
 * last-wins parsers (pino-pretty shows USERLVL) read it instead of pino's. Run through ESLint's
 * Node API with the project's real configuration.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const root = fileURLToPath(new URL('../..', import.meta.url));
// The snippets are not files of tsconfig.json, so the type-aware rules (which need them to be)
// are switched off; the rule under test needs no type information.
const eslint = new ESLint({ cwd: root, overrideConfig: tseslint.configs.disableTypeChecked });

/** Messages of the reserved-key rule for `code` linted as a gateway source file. */
async function reported(code: string, filePath = 'gateway/example.ts'): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  assert.ok(result !== undefined);
  // A parse error would hide the rule: fail on it rather than pass for nothing.
  assert.deepEqual(
    result.messages.filter((m) => m.fatal === true),
    [],
  );
  return result.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

const prelude = `import { pino } from 'pino';\nexport const logger = pino();\nconst level = 2;\n`;

describe('lint: pino reserved keys in log objects', () => {
  it('reports a `level` field in a log call object', async () => {
    const messages = await reported(`${prelude}logger.warn({ level: 2 }, 'x');\n`);
    assert.equal(messages.length, 1);
    assert.match(messages[0] ?? '', /duplicate key/);
  });

  it('reports every reserved name, shorthand and quoted, at every level method', async () => {
    const code =
      prelude +
      [
        `logger.info({ level }, 'x');`,
        `logger.error({ 'time': 1 }, 'x');`,
        `logger.debug({ pid: 1 }, 'x');`,
        `logger.trace({ hostname: 'h' }, 'x');`,
        `logger.fatal({ msg: 'm' }, 'x');`,
        `logger.child({ module: 'm' }).warn({ ok: 1, level: 1 }, 'x');`,
      ].join('\n');
    assert.equal((await reported(code)).length, 6);
  });

  it('reports a child binding that collides, and a level binding pino would drop', async () => {
    const messages = await reported(
      `${prelude}logger.child({ level: 'debug' });\nlogger.child({ hostname: 'h' });\n`,
    );
    assert.equal(messages.length, 2);
    assert.match(messages[0] ?? '', /child\(bindings, \{ level \}\)/);
  });

  it('applies to cloud-sync and simulators as well', async () => {
    const code = `${prelude}logger.info({ level: 1 }, 'x');\n`;
    assert.equal((await reported(code, 'cloud-sync/service/example.ts')).length, 1);
    assert.equal((await reported(code, 'simulators/example.ts')).length, 1);
  });

  it('accepts fields named for what they are, and a child level passed as an option', async () => {
    const code =
      prelude +
      [
        `logger.warn({ alarmLevel: 2 }, 'x');`,
        `logger.info({ overweightLevel: level, timeMs: 1 }, 'x');`,
        `logger.child({ module: 'm' }, { level: 'debug' });`,
        `logger.info('level %d', level);`,
        `console.error({ level: 1 });`,
      ].join('\n');
    assert.deepEqual(await reported(code), []);
  });
});
