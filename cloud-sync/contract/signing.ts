/**
 * Signed downlink (docs/downlink-signing.md, docs/uplink-contract.md "Signatures"): every
 * `down/cmd` and `down/config` message carries `sig`, an Ed25519 signature (RFC 8032, section
 * 5.1; node:crypto's pure Ed25519, no pre-hash) made by the cloud with a key the gateway pinned at
 * enrollment. The broker and whoever holds a service-account secret can publish on `down/`; only
 * the holder of the cloud's signing key can make a gateway act.
 *
 * What is signed is the canonical JSON (config-document.ts canonicalJson: keys sorted at every
 * level, no whitespace) of
 *
 *   { "purpose": "kerbside/v1 downlink", "channel": "down/cmd" | "down/config", "gw": <gateway id>,
 *     "alg": "ed25519", "keyId": <key id>, "announce": [<public keys>], "message": <message without sig> }
 *
 * so a signature binds the channel (a command cannot pass as a document), the gateway (a payload
 * signed for one cabinet is refused by every other) and the whole message, whose `id` (command)
 * or `version` and `hash` (document) are in it: a signature cannot be moved to another command id
 * or version. Replaying the very same message to the same gateway is what the existing rules
 * handle (a command id runs once and expires; a document version applies once).
 *
 * `announce` lists public keys the gateway should pin as well (key rotation, docs/downlink-signing.md):
 * it is inside the signed bytes, so only a key the gateway already trusts can announce another.
 *
 * This module is shared by both ends (ARCHITECTURE.md: the gateway imports only the contract): the
 * cloud signs with signDownlink, the gateway checks with verifyDownlink. Neither ever throws on a
 * peer's bad input: a refusal is a result with a stable code.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { errorClass, type ErrorCatalogue } from './errors.js';
import type { JsonSchema } from './schemas.js';

export const DOWNLINK_CHANNELS = ['down/cmd', 'down/config'] as const;
export type DownlinkChannel = (typeof DOWNLINK_CHANNELS)[number];

/** The only algorithm of v1; named in the message so a later one can be added without ambiguity. */
export const SIGNATURE_ALG = 'ed25519';
/** Domain separation: these bytes are never valid as anything else the project signs. */
const PURPOSE = 'kerbside/v1 downlink';

/** An Ed25519 public key as sent and pinned: its 32 raw bytes (RFC 8032 section 5.1.5), base64url. */
export const PUBLIC_KEY_PATTERN = '^[A-Za-z0-9_-]{43}$';
/** A key's id: the first 16 hex digits of the SHA-256 of its 32 raw bytes. */
export const KEY_ID_PATTERN = '^[0-9a-f]{16}$';
/** A 64-byte Ed25519 signature (RFC 8032 section 5.1.6), base64url. */
export const SIGNATURE_VALUE_PATTERN = '^[A-Za-z0-9_-]{86}$';
/** Most keys a signature may announce, and a gateway may pin. */
export const MAX_PINNED_KEYS = 8;
/**
 * Deepest nesting canonicalJson walks here. The contract bounds messages to MAX_DEPTH (32) levels,
 * but the signature is checked before the schema (an unsigned message must not reach the rest of
 * the handling), so the walk bounds itself: a payload nested deeper is refused, never recursed into.
 */
const MAX_SIGNED_DEPTH = 64;

/** `sig` of a `down/cmd` or `down/config` message. */
export interface DownlinkSignature {
  alg: typeof SIGNATURE_ALG;
  /** Which pinned key verifies it (keyIdOf). */
  keyId: string;
  /** Public keys (base64url) the gateway should pin as well; absent or empty: none. */
  announce?: string[];
  /** The signature, base64url. */
  value: string;
}

/** Shape of `sig` in COMMAND_SCHEMA and CONFIG_DOCUMENT_SCHEMA. */
export const SIGNATURE_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['alg', 'keyId', 'value'],
  properties: {
    alg: { const: SIGNATURE_ALG },
    keyId: { type: 'string', pattern: KEY_ID_PATTERN },
    announce: {
      type: 'array',
      maxItems: MAX_PINNED_KEYS,
      items: { type: 'string', pattern: PUBLIC_KEY_PATTERN },
    },
    value: { type: 'string', pattern: SIGNATURE_VALUE_PATTERN },
  },
};

/**
 * Stable codes of a refused downlink message, sent as `code` in the command_result or
 * config_result (docs/uplink-contract.md) and listed in docs/errors.md.
 */
export const SIGNATURE_ERRORS = {
  DOWNLINK_KEY_NOT_PINNED: {
    means:
      'The gateway has no pinned downlink key (enrolled before signed downlink): it refuses every command and document until it is enrolled again.',
  },
  DOWNLINK_UNSIGNED: {
    means: 'A `down/cmd` or `down/config` message without a readable `sig`: refused, not acted on.',
  },
  DOWNLINK_KEY_UNKNOWN: {
    means: 'The message is signed with a key this gateway has not pinned: refused, not acted on.',
  },
  DOWNLINK_BAD_SIGNATURE: {
    means:
      'The signature does not verify for this gateway, channel and message (forged, altered, or signed for another gateway, command or version): refused, not acted on.',
  },
  DOWNLINK_KEY_INVALID: {
    means: 'A downlink key (the cloud key file or a pinned key) is not a valid Ed25519 key.',
  },
} as const satisfies ErrorCatalogue<string>;

export type SignatureErrorCode = keyof typeof SIGNATURE_ERRORS;
/** The codes a gateway answers a refused message with. */
export type DownlinkRefusalCode = Exclude<SignatureErrorCode, 'DOWNLINK_KEY_INVALID'>;
export const DOWNLINK_REFUSAL_CODES: readonly DownlinkRefusalCode[] = [
  'DOWNLINK_KEY_NOT_PINNED',
  'DOWNLINK_UNSIGNED',
  'DOWNLINK_KEY_UNKNOWN',
  'DOWNLINK_BAD_SIGNATURE',
];

export class SignatureError extends errorClass('SignatureError', SIGNATURE_ERRORS) {}

/** The id of a public key (base64url raw bytes): 16 hex digits of its SHA-256. */
export function keyIdOf(publicKey: string): string {
  return createHash('sha256').update(Buffer.from(publicKey, 'base64url')).digest('hex').slice(0, 16);
}

/** A public key (base64url of the 32 raw bytes) as a node KeyObject. Throws SignatureError. */
export function publicKeyObject(publicKey: string): KeyObject {
  if (!new RegExp(PUBLIC_KEY_PATTERN).test(publicKey))
    throw new SignatureError('DOWNLINK_KEY_INVALID', 'a downlink public key must be 43 base64url characters');
  try {
    // JWK OKP (RFC 8037 section 2): the only portable way to hand node the raw 32 bytes.
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
  } catch (error) {
    throw new SignatureError('DOWNLINK_KEY_INVALID', 'not an Ed25519 public key', { cause: error });
  }
}

/** The base64url raw public key of an Ed25519 key object (private or public). */
export function rawPublicKey(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string')
    throw new SignatureError('DOWNLINK_KEY_INVALID', 'not an Ed25519 key');
  return jwk.x;
}

/** A PKCS#8 PEM private key as a KeyObject; throws SignatureError unless it is Ed25519. */
export function privateKeyObject(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    // The parser's message could quote the key: not passed on.
    throw new SignatureError('DOWNLINK_KEY_INVALID', 'not a PKCS#8 PEM private key');
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new SignatureError(
      'DOWNLINK_KEY_INVALID',
      `the private key is ${key.asymmetricKeyType}, not ed25519`,
    );
  return key;
}

/**
 * canonicalJson (config-document.ts) with a depth bound; null when the value nests deeper than
 * MAX_SIGNED_DEPTH. Objects' keys sorted by UTF-16 code units (the order of `<` on strings), no
 * whitespace, undefined members dropped: both ends produce the same text from the same JSON.
 */
export function boundedCanonicalJson(value: unknown, depth = 0): string | null {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (depth >= MAX_SIGNED_DEPTH) return null;
  const parts: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) {
      const text = boundedCanonicalJson(item, depth + 1);
      if (text === null) return null;
      parts.push(text);
    }
    return `[${parts.join(',')}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, item] of entries) {
    const text = boundedCanonicalJson(item, depth + 1);
    if (text === null) return null;
    parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}

/** The bytes a signature covers (see the top of this file); null when the message is too deep. */
export function signedBytes(
  channel: DownlinkChannel,
  gatewayId: string,
  keyId: string,
  announce: readonly string[],
  message: Record<string, unknown>,
): Buffer | null {
  const { sig: _sig, ...unsigned } = message;
  const text = boundedCanonicalJson({
    purpose: PURPOSE,
    channel,
    gw: gatewayId,
    alg: SIGNATURE_ALG,
    keyId,
    announce: [...announce],
    message: unsigned,
  });
  return text === null ? null : Buffer.from(text, 'utf8');
}

/**
 * The message with its `sig` for `gatewayId` on `channel` (any `sig` it had is replaced). Throws
 * SignatureError for a key that is not Ed25519 or a message nested too deep to sign.
 */
export function signDownlink<T extends object>(
  privateKey: KeyObject,
  channel: DownlinkChannel,
  gatewayId: string,
  message: T,
  announce: readonly string[] = [],
): T & { sig: DownlinkSignature } {
  const keyId = keyIdOf(rawPublicKey(privateKey));
  // Sign what the gateway will parse, not the object in hand: JSON.stringify turns `undefined` in
  // an array into null, a Date into its string (toJSON) and drops functions, and canonicalJson
  // would read such values otherwise, so a signature over the object could fail on the wire.
  // The depth is checked first: JSON.stringify itself would overflow the stack on a deep enough one.
  const tooDeep = (value: Record<string, unknown>): boolean =>
    signedBytes(channel, gatewayId, keyId, announce, value) === null;
  if (tooDeep(message as Record<string, unknown>))
    throw new SignatureError('DOWNLINK_KEY_INVALID', 'the message nests too deep to sign');
  const onTheWire = JSON.parse(JSON.stringify(message)) as Record<string, unknown>;
  const bytes = signedBytes(channel, gatewayId, keyId, announce, onTheWire);
  if (bytes === null) throw new SignatureError('DOWNLINK_KEY_INVALID', 'the message nests too deep to sign');
  // RFC 8032 section 5.1.6; node takes no digest for Ed25519 (null).
  const value = sign(null, bytes, privateKey).toString('base64url');
  const { sig: _old, ...rest } = message as Record<string, unknown>;
  const sig: DownlinkSignature = {
    alg: SIGNATURE_ALG,
    keyId,
    ...(announce.length === 0 ? {} : { announce: [...announce] }),
    value,
  };
  return { ...(rest as T), sig };
}

export type DownlinkVerification =
  { ok: true; keyId: string; announce: string[] } | { ok: false; code: DownlinkRefusalCode; message: string };

/** Pinned public keys by their id; keys that are not Ed25519 are left out (and reported by the caller). */
export function pinnedKeyMap(publicKeys: readonly string[]): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const publicKey of publicKeys) {
    try {
      keys.set(keyIdOf(publicKey), publicKeyObject(publicKey));
    } catch {
      // An invalid pinned key verifies nothing; credentials.ts refuses such a file anyway.
    }
  }
  return keys;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks the `sig` of a parsed `down/cmd` or `down/config` message for this gateway against the
 * pinned keys. Never throws. On success, `announce` lists the announced keys (for the caller to pin).
 */
export function verifyDownlink(
  pinned: ReadonlyMap<string, KeyObject>,
  channel: DownlinkChannel,
  gatewayId: string,
  message: unknown,
): DownlinkVerification {
  if (pinned.size === 0) {
    return {
      ok: false,
      code: 'DOWNLINK_KEY_NOT_PINNED',
      message:
        'this gateway has no pinned downlink key (enrolled before signed downlink): enroll it again (npm run enroll) to accept commands and configuration documents',
    };
  }
  const sig = isRecord(message) ? message['sig'] : undefined;
  if (
    !isRecord(message) ||
    !isRecord(sig) ||
    sig['alg'] !== SIGNATURE_ALG ||
    typeof sig['keyId'] !== 'string' ||
    typeof sig['value'] !== 'string' ||
    !new RegExp(SIGNATURE_VALUE_PATTERN).test(sig['value'])
  ) {
    return {
      ok: false,
      code: 'DOWNLINK_UNSIGNED',
      message: `${channel} message without a valid ed25519 sig: not acted on`,
    };
  }
  const announce = sig['announce'] ?? [];
  if (
    !Array.isArray(announce) ||
    announce.length > MAX_PINNED_KEYS ||
    !announce.every((k): k is string => typeof k === 'string' && new RegExp(PUBLIC_KEY_PATTERN).test(k))
  ) {
    return {
      ok: false,
      code: 'DOWNLINK_UNSIGNED',
      message: `${channel} message with a malformed sig.announce: not acted on`,
    };
  }
  const key = pinned.get(sig['keyId']);
  if (key === undefined) {
    return {
      ok: false,
      code: 'DOWNLINK_KEY_UNKNOWN',
      message: `${channel} message signed with key ${sig['keyId'].slice(0, 16)}, which this gateway has not pinned: not acted on`,
    };
  }
  const bytes = signedBytes(channel, gatewayId, sig['keyId'], announce, message);
  const valid = bytes !== null && verify(null, bytes, key, Buffer.from(sig['value'], 'base64url'));
  if (!valid) {
    return {
      ok: false,
      code: 'DOWNLINK_BAD_SIGNATURE',
      message: `${channel} signature does not verify for gateway ${gatewayId} and this message (forged, altered, or signed for another gateway, id or version): not acted on`,
    };
  }
  return { ok: true, keyId: sig['keyId'], announce };
}
