/**
 * The downlink signature format (cloud-sync/contract/signing.ts, docs/downlink-signing.md): what the
 * cloud signs verifies for that gateway, channel and message only; every forgery a broker or a
 * service account could publish is refused with its stable code, never with an exception.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  keyIdOf,
  pinnedKeyMap,
  signDownlink,
  signedBytes,
  verifyDownlink,
} from '../../../cloud-sync/contract/signing.js';
import { parseCommand, parseConfigDocument } from '../../../cloud-sync/contract/validate.js';
import { configDocumentHash } from '../../../cloud-sync/contract/config-document.js';
import { testDownlinkKey } from '../../helpers/downlink-signing.js';

const GW = 'cab-7';
const CLOUD = testDownlinkKey();
const OTHER = testDownlinkKey();
const PINNED = pinnedKeyMap([CLOUD.publicKey]);

function command(id = '0b5c1f0e-6a8e-4a35-9b53-3c0f2f7c9a11') {
  return {
    id,
    issuedAt: '2026-12-07T10:00:00.000Z',
    expiresAt: '2026-12-07T10:05:00.000Z',
    target: 'lighting:loop_1',
    action: 'loop.switch',
    params: { on: false, durationS: 600, by: 'ops', reason: 'repair' },
  };
}

const verify = (message: unknown, gw = GW, channel: 'down/cmd' | 'down/config' = 'down/cmd') =>
  verifyDownlink(PINNED, channel, gw, JSON.parse(JSON.stringify(message)));

describe('downlink signatures (Ed25519, RFC 8032, over canonical JSON)', () => {
  it('a signed command verifies for its gateway and passes the contract with its sig', () => {
    const signed = signDownlink(CLOUD.privateKey, 'down/cmd', GW, command());
    assert.equal(signed.sig.keyId, keyIdOf(CLOUD.publicKey));
    assert.deepEqual(verify(signed), { ok: true, keyId: signed.sig.keyId, announce: [] });
    assert.ok(parseCommand(JSON.stringify(signed)).ok);
    // Key order does not matter: the signed text is canonical.
    const reordered = Object.fromEntries(Object.entries(signed).reverse());
    assert.equal(verify(reordered).ok, true);
  });

  it('signs what goes on the wire: values JSON turns into others (undefined in an array, a Date) still verify', () => {
    const message = { ...command(), params: { ...command().params, list: [1, undefined], at: new Date(0) } };
    const signed = signDownlink(CLOUD.privateKey, 'down/cmd', GW, message);
    assert.deepEqual(verify(signed), { ok: true, keyId: signed.sig.keyId, announce: [] });
  });

  it('refuses unsigned, unknown-key, forged, altered, moved and cross-channel messages with their codes', () => {
    const signed = signDownlink(CLOUD.privateKey, 'down/cmd', GW, command());
    const code = (m: unknown, gw = GW, channel: 'down/cmd' | 'down/config' = 'down/cmd') => {
      const r = verify(m, gw, channel);
      return r.ok ? 'ok' : r.code;
    };
    assert.equal(code(command()), 'DOWNLINK_UNSIGNED');
    assert.equal(code({ ...command(), sig: 'x' }), 'DOWNLINK_UNSIGNED');
    assert.equal(code(signDownlink(OTHER.privateKey, 'down/cmd', GW, command())), 'DOWNLINK_KEY_UNKNOWN');
    // Another key's signature under the pinned key's id.
    const forged = signDownlink(OTHER.privateKey, 'down/cmd', GW, command());
    assert.equal(
      code({ ...forged, sig: { ...forged.sig, keyId: signed.sig.keyId } }),
      'DOWNLINK_BAD_SIGNATURE',
    );
    // The genuine signature on an altered command, on another command id, for another gateway.
    assert.equal(code({ ...signed, params: { ...signed.params, on: true } }), 'DOWNLINK_BAD_SIGNATURE');
    assert.equal(code({ ...signed, id: '5d1a4e64-2f0c-4c53-8f2b-7a4d9b1e0c22' }), 'DOWNLINK_BAD_SIGNATURE');
    assert.equal(code(signed, 'cab-8'), 'DOWNLINK_BAD_SIGNATURE');
    assert.equal(code(signed, GW, 'down/config'), 'DOWNLINK_BAD_SIGNATURE');
    // Announcing a key the signer did not announce.
    assert.equal(
      code({ ...signed, sig: { ...signed.sig, announce: [OTHER.publicKey] } }),
      'DOWNLINK_BAD_SIGNATURE',
    );
    // Nothing pinned: a gateway enrolled before signed downlink.
    const none = verifyDownlink(new Map(), 'down/cmd', GW, signed);
    assert.equal(none.ok ? 'ok' : none.code, 'DOWNLINK_KEY_NOT_PINNED');
    assert.match(none.ok ? '' : none.message, /enroll it again/);
  });

  it('a configuration document signature binds its version and hash', () => {
    const document = { devices: { 'gas-1': { pollIntervalMs: 750 } } };
    const message = { version: 3, hash: configDocumentHash(document), document };
    const signed = signDownlink(CLOUD.privateKey, 'down/config', GW, message);
    assert.equal(verify(signed, GW, 'down/config').ok, true);
    assert.ok(parseConfigDocument(JSON.stringify(signed)).ok);
    const moved = verify({ ...signed, version: 4 }, GW, 'down/config');
    assert.equal(moved.ok ? 'ok' : moved.code, 'DOWNLINK_BAD_SIGNATURE');
  });

  it('announced keys are inside the signature and returned to the verifier', () => {
    const signed = signDownlink(CLOUD.privateKey, 'down/cmd', GW, command(), [OTHER.publicKey]);
    assert.deepEqual(verify(signed), { ok: true, keyId: signed.sig.keyId, announce: [OTHER.publicKey] });
  });

  it('never throws on a message nested beyond the bound, and signs nothing that deep', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const signed = signDownlink(CLOUD.privateKey, 'down/cmd', GW, command());
    const result = verifyDownlink(PINNED, 'down/cmd', GW, { ...signed, params: deep });
    assert.equal(result.ok ? 'ok' : result.code, 'DOWNLINK_BAD_SIGNATURE');
    assert.equal(signedBytes('down/cmd', GW, 'k', [], { params: deep }), null);
    assert.throws(() => signDownlink(CLOUD.privateKey, 'down/cmd', GW, { params: deep }), {
      code: 'DOWNLINK_KEY_INVALID',
    });
  });
});
