/**
 * DownlinkVerifier's pinning of announced keys (docs/downlink-signing.md, rotation): a key pinned
 * in memory is written to the credentials file, and a failed write is tried again with the next
 * verified message instead of being forgotten at the next restart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { DownlinkVerifier } from '../../../gateway/downlink/signature.js';
import { signedPayload, testDownlinkKey } from '../../helpers/downlink-signing.js';
import { waitFor } from '../../helpers/wait.js';

const GW = 'cab-7';

function command(id: string) {
  return {
    id,
    issuedAt: '2026-12-07T10:00:00.000Z',
    expiresAt: '2026-12-07T10:05:00.000Z',
    target: 'lighting:loop_1',
    action: 'loop.switch',
    params: { on: false, durationS: 600, by: 'ops', reason: 'repair' },
  };
}

describe('DownlinkVerifier pinning', () => {
  it('writes an announced key, and tries again with the next verified message after a failed write', async () => {
    const current = testDownlinkKey();
    const next = testDownlinkKey();
    const writes: string[][] = [];
    let failNext = true;
    const verifier = new DownlinkVerifier({
      gatewayId: GW,
      keys: [current.publicKey],
      logger: pino({ level: 'silent' }),
      persist: (keys) => {
        writes.push([...keys]);
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('disk full'));
        }
        return Promise.resolve();
      },
    });

    const announcing = signedPayload(current, 'down/cmd', GW, command('a1'), [next.publicKey]);
    assert.equal(verifier.check('down/cmd', announcing).ok, true);
    await waitFor('the first write', () => writes.length === 1);
    await new Promise((resolve) => setImmediate(resolve)); // its failure settles
    // Pinned in memory at once: a message signed with the new key verifies.
    assert.equal(verifier.check('down/cmd', signedPayload(next, 'down/cmd', GW, command('a2'))).ok, true);
    await waitFor('the retried write', () => writes.length === 2);
    assert.deepEqual(writes, [[next.publicKey], [next.publicKey]]);

    // Saved now (the write's promise settles before the next turn of the event loop): nothing
    // more is written.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(verifier.check('down/cmd', signedPayload(next, 'down/cmd', GW, command('a3'))).ok, true);
    assert.equal(verifier.check('down/cmd', signedPayload(next, 'down/cmd', GW, command('a4'))).ok, true);
    assert.equal(writes.length, 2);
  });
});
