/**
 * MQTT topics of the uplink (docs/uplink-contract.md) and the per-gateway access rules the broker
 * enforces (its authorizePublish / authorizeSubscribe hooks, or the ACL generated for an external
 * broker). `v1` in the root is the contract version: only additive changes happen within it.
 */
import { ContractError } from './errors.js';

export const TOPIC_ROOT = 'kerbside/v1';

/**
 * Gateway ids are one topic level, so they must never contain the MQTT separator `/` or the
 * wildcards `+` and `#` (MQTT 3.1.1 section 4.7.1); lower-case letters, digits and hyphens only,
 * 2 to 63 characters, starting with a letter or digit.
 */
export const GATEWAY_ID_PATTERN = '^[a-z0-9][a-z0-9-]{1,62}$';
const GATEWAY_ID_RE = new RegExp(GATEWAY_ID_PATTERN);

export const CHANNELS = ['up/events', 'down/ack', 'up/status', 'down/cmd', 'down/config'] as const;
export type Channel = (typeof CHANNELS)[number];

export function isGatewayId(value: unknown): value is string {
  return typeof value === 'string' && GATEWAY_ID_RE.test(value);
}

function requireGatewayId(gatewayId: string): void {
  if (!isGatewayId(gatewayId)) {
    throw new ContractError('CONTRACT_INVALID', `invalid gateway id ${JSON.stringify(gatewayId)}`);
  }
}

/** The MQTT client id a gateway must connect with (one fixed id per gateway, docs/uplink-contract.md). */
export function gatewayClientId(gatewayId: string): string {
  return `gw-${gatewayId}`;
}

/** `kerbside/v1/{gatewayId}/{channel}`. Throws ContractError for an invalid gateway id. */
export function topicFor(gatewayId: string, channel: Channel): string {
  requireGatewayId(gatewayId);
  return `${TOPIC_ROOT}/${gatewayId}/${channel}`;
}

export const eventsTopic = (gatewayId: string): string => topicFor(gatewayId, 'up/events');
export const ackTopic = (gatewayId: string): string => topicFor(gatewayId, 'down/ack');
export const statusTopic = (gatewayId: string): string => topicFor(gatewayId, 'up/status');
export const commandTopic = (gatewayId: string): string => topicFor(gatewayId, 'down/cmd');
export const configTopic = (gatewayId: string): string => topicFor(gatewayId, 'down/config');

/** The filter the cloud subscribes with to hear one channel of every gateway. */
export function allGatewaysFilter(channel: Channel): string {
  return `${TOPIC_ROOT}/+/${channel}`;
}

export interface ParsedTopic {
  gatewayId: string;
  channel: Channel;
}

/** Splits a concrete topic into gateway id and channel; null for anything not in the contract. */
export function parseTopic(topic: string): ParsedTopic | null {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topic.startsWith(prefix)) return null;
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return null;
  const gatewayId = rest.slice(0, slash);
  const channel = rest.slice(slash + 1);
  if (!isGatewayId(gatewayId)) return null;
  if (!(CHANNELS as readonly string[]).includes(channel)) return null;
  return { gatewayId, channel: channel as Channel };
}

/**
 * ACL topics of one gateway, for generating an external broker's ACL file: it publishes exactly its
 * two `up/` channels (the same rule as the embedded broker's acl.ts) and reads all of its `down/`.
 */
export function aclFor(gatewayId: string): { publish: readonly string[]; subscribe: string } {
  requireGatewayId(gatewayId);
  return {
    publish: [eventsTopic(gatewayId), statusTopic(gatewayId)],
    subscribe: `${TOPIC_ROOT}/${gatewayId}/down/#`,
  };
}

/**
 * Topic levels after `kerbside/v1/{gatewayId}/{direction}/`, or null when `topic` is not under
 * that prefix or has no level after it. Empty levels are refused too: `up//x` is legal MQTT but no
 * topic of the contract has one, so it can only be a mistake or a probe.
 */
function levelsUnder(gatewayId: string, direction: 'up' | 'down', topic: string): string[] | null {
  if (!isGatewayId(gatewayId)) return null;
  // NUL is forbidden in MQTT topic names (MQTT 3.1.1 section 1.5.3); 65535 bytes is the maximum.
  if (topic.includes('\u0000') || Buffer.byteLength(topic, 'utf8') > 65_535) return null;
  const prefix = `${TOPIC_ROOT}/${gatewayId}/${direction}/`;
  if (!topic.startsWith(prefix)) return null;
  const levels = topic.slice(prefix.length).split('/');
  if (levels.some((level) => level === '')) return null;
  return levels;
}

/**
 * May `gatewayId` publish to `topic`? Only under its own `up/`, and never with a wildcard: a topic
 * name with `+` or `#` is a protocol error (MQTT 3.1.1 section 4.7.1.1).
 */
export function mayPublish(gatewayId: string, topic: string): boolean {
  const levels = levelsUnder(gatewayId, 'up', topic);
  if (levels === null) return false;
  return levels.every((level) => !level.includes('+') && !level.includes('#'));
}

/**
 * May `gatewayId` subscribe with `topicFilter`? The fixed prefix `kerbside/v1/{gatewayId}/down/`
 * must be spelt out literally, so `kerbside/v1/+/down/#`, `kerbside/v1/#` or `#` (which would
 * reach other gateways' commands) are refused; wildcards are allowed only after it, and only in
 * valid positions (`+` alone in a level, `#` alone in the last level: MQTT 3.1.1 section 4.7.1.2/3).
 * Shared subscriptions (`$share/...`) fail the prefix test and are refused as well.
 */
export function maySubscribe(gatewayId: string, topicFilter: string): boolean {
  const levels = levelsUnder(gatewayId, 'down', topicFilter);
  if (levels === null) return false;
  return levels.every((level, index) => {
    if (level === '#') return index === levels.length - 1;
    if (level === '+') return true;
    return !level.includes('+') && !level.includes('#');
  });
}
