/**
 * The one secret list (runtime/log-redaction.ts) censors what both services might log: a real pino
 * logger writing into a stream, read back line by line.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';

import { REDACT_PATHS, REDACTED, SECRET_KEYS } from '../../runtime/log-redaction.js';
import * as gatewayLogger from '../../gateway/logger.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { stream, lines };
}

test('censors every secret key at the top level and three levels down, and nothing else', () => {
  const { stream, lines } = capture();
  const logger = pino({ redact: { paths: [...REDACT_PATHS], censor: REDACTED } }, stream);
  for (const key of SECRET_KEYS) {
    logger.info({ [key]: 'S1', a: { [key]: 'S2', b: { [key]: 'S3', c: { [key]: 'S4' } } }, kept: key });
  }
  const written = lines();
  assert.equal(written.length, SECRET_KEYS.length);
  for (const line of written) {
    const text = JSON.stringify(line);
    assert.doesNotMatch(text, /S[1-4]/, `a secret got through: ${text}`);
    assert.equal(typeof line['kept'], 'string', 'a field that is not a secret is kept');
  }
});

test('the gateway logger uses the same list', () => {
  assert.equal(gatewayLogger.REDACT_PATHS, REDACT_PATHS);
  for (const key of ['privateKey', 'scrapeToken', 'secret', 'password', 'cookie']) {
    assert.ok(SECRET_KEYS.includes(key), key);
  }
});
