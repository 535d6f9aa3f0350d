/**
 * Who may publish and subscribe where on the broker. Gateways follow the uplink contract
 * (`mayPublish` / `maySubscribe` in cloud-sync/contract/topics.ts); service accounts (the cloud's
 * own ingest and command clients) get the mirror image across all gateways: they read every
 * gateway's `up/` and write to a named gateway's `down/`.
 */
import {
  eventsTopic,
  isGatewayId,
  mayPublish,
  maySubscribe,
  parseTopic,
  statusTopic,
  TOPIC_ROOT,
} from '../../contract/topics.js';

/** The authenticated identity behind one MQTT connection. */
export type BrokerIdentity = { kind: 'gateway'; gatewayId: string } | { kind: 'service'; name: string };

export { gatewayClientId } from '../../contract/topics.js';

/**
 * Usernames of service accounts carry this prefix, on the embedded broker and on mosquitto alike
 * (mosquitto's password file splits at `:`, so no `:` here); `.` never occurs in a gateway id.
 */
export const SERVICE_USERNAME_PREFIX = 'service.';

/**
 * Client ids a service account may use: `svc-{name}`, or `svc-{name}-{instance}` so several
 * stateless instances can run at once (each needs its own session, MQTT 3.1.1 section 3.1.3.1).
 */
export function isServiceClientId(name: string, clientId: string): boolean {
  const base = `svc-${name}`;
  if (clientId === base) return true;
  return clientId.startsWith(`${base}-`) && /^[A-Za-z0-9-]{1,23}$/.test(clientId.slice(base.length + 1));
}

/** No NUL (MQTT 3.1.1 section 1.5.3), at most 65535 bytes, no empty level. */
function splitLevels(topic: string): string[] | null {
  if (topic.includes('\u0000') || Buffer.byteLength(topic, 'utf8') > 65_535) return null;
  const levels = topic.split('/');
  return levels.some((level) => level === '') ? null : levels;
}

/**
 * May a service account publish `topic`? Only `kerbside/v1/{gatewayId}/down/...` with a valid
 * gateway id spelt out, at least one level after `down`, and no wildcard (MQTT 3.1.1 section
 * 4.7.1.1: a topic name never holds one).
 */
export function serviceMayPublish(topic: string): boolean {
  const levels = splitLevels(topic);
  if (levels === null || levels.length < 5) return false;
  const [kerbside, version, gatewayId, direction, ...rest] = levels;
  if (`${kerbside}/${version}` !== TOPIC_ROOT || !isGatewayId(gatewayId) || direction !== 'down')
    return false;
  return rest.every((level) => !level.includes('+') && !level.includes('#'));
}

/**
 * May a service account subscribe with `filter`? `kerbside/v1/{+ or gatewayId}/up/...`, wildcards
 * only in valid positions (MQTT 3.1.1 sections 4.7.1.2/3), optionally as a shared subscription
 * `$share/{group}/...` (MQTT 5 section 4.8.2) so several instances can split the load on an
 * external broker.
 */
export function serviceMaySubscribe(filter: string): boolean {
  let rest = filter;
  if (rest.startsWith('$share/')) {
    const afterPrefix = rest.slice('$share/'.length);
    const slash = afterPrefix.indexOf('/');
    if (slash <= 0) return false;
    const group = afterPrefix.slice(0, slash);
    if (group.includes('+') || group.includes('#')) return false;
    rest = afterPrefix.slice(slash + 1);
  }
  const levels = splitLevels(rest);
  if (levels === null || levels.length < 5) return false;
  const [kerbside, version, gatewayId, direction, ...tail] = levels;
  if (`${kerbside}/${version}` !== TOPIC_ROOT || direction !== 'up') return false;
  if (gatewayId !== '+' && !isGatewayId(gatewayId)) return false;
  return tail.every((level, index) => {
    if (level === '#') return index === tail.length - 1;
    if (level === '+') return true;
    return !level.includes('+') && !level.includes('#');
  });
}

/**
 * May a gateway publish `topic`? Only the contract's two uplink channels of its own
 * (docs/uplink-contract.md): `up/events` and `up/status`. Anything else under its `up/` would be
 * read by nobody and, retained, kept by the broker for nothing.
 */
export function gatewayMayPublish(gatewayId: string, topic: string): boolean {
  if (!mayPublish(gatewayId, topic)) return false;
  return topic === eventsTopic(gatewayId) || topic === statusTopic(gatewayId);
}

/** Publish decision for any identity; `$`-topics (`$SYS/...`) are refused to everyone. */
export function identityMayPublish(identity: BrokerIdentity, topic: string): boolean {
  if (topic.startsWith('$')) return false;
  return identity.kind === 'gateway'
    ? gatewayMayPublish(identity.gatewayId, topic)
    : serviceMayPublish(topic);
}

/**
 * May this publish be retained? Only the contract's retained channels (docs/uplink-contract.md):
 * a gateway's own `up/status` (its status and last will) and, from a service account,
 * `down/config`. One retained message per gateway and channel bounds what the broker keeps; any
 * other retain flag is cleared, the message itself still delivered.
 */
export function identityMayRetain(identity: BrokerIdentity, topic: string): boolean {
  if (identity.kind === 'gateway') return topic === statusTopic(identity.gatewayId);
  return parseTopic(topic)?.channel === 'down/config';
}

/** Subscribe decision for any identity. */
export function identityMaySubscribe(identity: BrokerIdentity, filter: string): boolean {
  return identity.kind === 'gateway' ? maySubscribe(identity.gatewayId, filter) : serviceMaySubscribe(filter);
}
