/**
 * Signing for tests that publish `down/cmd` and `down/config` themselves (docs/downlink-signing.md):
 * a fresh Ed25519 key, messages signed with it for a gateway, and a gateway-side verifier that pins
 * it. The gateway's check is never weakened for tests: they sign like the cloud does.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { pino } from 'pino';
import {
  rawPublicKey,
  signDownlink,
  type DownlinkChannel,
  type DownlinkSignature,
} from '../../cloud-sync/contract/signing.js';
import { DownlinkVerifier } from '../../gateway/downlink/signature.js';

export interface TestDownlinkKey {
  privateKey: KeyObject;
  /** base64url raw public key, as pinned. */
  publicKey: string;
}

export function testDownlinkKey(): TestDownlinkKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey: rawPublicKey(privateKey) };
}

/** `message` (an object or JSON text) signed for `gatewayId` on `channel`, as JSON text. */
export function signedPayload(
  key: TestDownlinkKey,
  channel: DownlinkChannel,
  gatewayId: string,
  message: object | string,
  announce: readonly string[] = [],
): string {
  const value = typeof message === 'string' ? (JSON.parse(message) as object) : message;
  const signed: object & { sig: DownlinkSignature } = signDownlink(
    key.privateKey,
    channel,
    gatewayId,
    value,
    announce,
  );
  return JSON.stringify(signed);
}

/** A verifier of `gatewayId` pinning `keys`, logging nowhere. */
export function testVerifier(gatewayId: string, keys: readonly string[]): DownlinkVerifier {
  return new DownlinkVerifier({ gatewayId, keys, logger: pino({ level: 'silent' }) });
}
