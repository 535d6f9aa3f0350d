/**
 * The embedded MQTT broker of the single-process deployment (docs/uplink-contract.md): aedes behind
 * a plain TCP listener (and optionally a TLS one), with the three aedes hooks enforcing who may
 * connect, publish and subscribe. Hooks follow aedes' callback contract and deny on any doubt:
 * they never throw, and an unexpected error inside one is a refusal.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import { isGatewayId } from '../../contract/topics.js';
import { MAX_PAYLOAD_BYTES } from '../../contract/schemas.js';
import {
  gatewayClientId,
  identityMayPublish,
  identityMayRetain,
  identityMaySubscribe,
  isServiceClientId,
  SERVICE_USERNAME_PREFIX,
  type BrokerIdentity,
} from './acl.js';
import { ConnectionLimits, MAX_CONNECTIONS_PER_ADDRESS, MAX_CONNECTIONS_TOTAL } from './connection-limits.js';
import { GuardedConnection } from './guarded-connection.js';
import { PacketGuard } from './packet-guard.js';
import { Tarpit, TARPIT_HOLD_MS } from './tarpit.js';
import {
  RefusalLog,
  RefusalThrottle,
  REFUSAL_LOG_INTERVAL_MS,
  REFUSAL_WINDOW_MS,
  REFUSALS_BEFORE_THROTTLE,
  type RefusalLogLine,
} from './refusals.js';
import {
  onCredentialsChanged,
  REVOCATION_CHECK_INTERVAL_MS,
  sweepSessions,
  type LiveSession,
} from './revocation.js';
import { authenticateSecret, type CredentialStore } from './credentials.js';
import type { CredentialKey } from '../secrets/credential-key.js';

/** The subset of pino's logger the broker uses (pino's `(object, message)` call style). */
export interface BrokerLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface EmbeddedBrokerOptions {
  /** TCP port for plain MQTT; 0 picks a free one (tests). */
  port: number;
  /** Interface to bind; loopback by default so nothing is exposed by accident. */
  host?: string;
  /** Gateway credentials, keyed by gateway id. */
  credentials: CredentialStore;
  /** Service account credentials, keyed by account name (username `service.{name}`). */
  serviceAccounts: CredentialStore;
  /** The key the stores' hashes are made with (broker/credentials.ts hashSecret). */
  credentialKey: CredentialKey;
  logger: BrokerLogger;
  /** Also listen for MQTT over TLS (`port` 0 picks a free one; 8883 is the registered port). */
  tls?: { port: number; key: TlsOptions['key']; cert: TlsOptions['cert'] };
  /**
   * Refuse gateways (CONNACK 3, server unavailable) until acceptGateways() is called: the
   * service calls it once its own consumer is subscribed, so a gateway returning after an
   * outage never publishes into a broker with nobody listening (its batch would be dropped and
   * resent only after the ack timeout). Service accounts are always let in. Default false.
   */
  holdGatewaysUntilReady?: boolean;
  /** Limits (defaults: the named constants below); tests lower them to reach them quickly. */
  limits?: Partial<BrokerLimits>;
  /** Milliseconds between revocation sweeps (default REVOCATION_CHECK_INTERVAL_MS). */
  revocationCheckMs?: number;
}

/** The broker's size and count limits (see the constants for why each is what it is). */
export interface BrokerLimits {
  /** Largest packet (Remaining Length) before CONNECT is authenticated. */
  beforeAuthPacketBytes: number;
  /** Bytes a connection may send before it is authenticated. */
  beforeAuthTotalBytes: number;
  /** Largest packet once authenticated. */
  afterAuthPacketBytes: number;
  maxConnectionsPerAddress: number;
  maxConnectionsTotal: number;
  maxSubscriptionsPerClient: number;
  /** Refused CONNECTs from one address within refusalWindowMs before it is throttled. */
  refusalsBeforeThrottle: number;
  refusalWindowMs: number;
  /** One refusal log line per address per this interval (0: every refusal gets its line). */
  refusalLogIntervalMs: number;
  /** How long a connection from a throttled address is held before it is closed (tarpit.ts). */
  tarpitHoldMs: number;
}

/**
 * Largest packet before authentication: a CONNECT holds a client id (23 bytes, MQTT 3.1.1 section
 * 3.1.3.1), a username, a 43-character secret and the gateway's last will, a status of a few
 * hundred bytes; 8 KiB is ample and makes an unauthenticated socket cheap to hold.
 */
export const BEFORE_AUTH_MAX_PACKET_BYTES = 8 * 1024;
/** Bytes accepted before authentication: one CONNECT and a few packets sent right behind it. */
export const BEFORE_AUTH_MAX_TOTAL_BYTES = 16 * 1024;
/**
 * Largest packet after authentication: the contract's payload limit (MAX_PAYLOAD_BYTES, 1 MiB)
 * plus a PUBLISH's variable header at its largest (2-byte length, a topic of up to 65535 bytes,
 * 2-byte packet id; MQTT 3.1.1 section 3.3.2).
 */
export const AFTER_AUTH_MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 2 + 65_535 + 2;
/**
 * Subscriptions one client may hold: a gateway needs three (`down/ack`, `down/cmd`,
 * `down/config`), the consumer two; each filter costs the broker memory and matching work.
 */
export const MAX_SUBSCRIPTIONS_PER_CLIENT = 16;
/**
 * How long a TLS client has to finish its handshake. Node's default (tls.createServer
 * handshakeTimeout) is 120 s, for which a silent TCP connection holds a slot of the connection
 * limits; a gateway on a slow cellular link completes a TLS 1.2/1.3 handshake in a few round trips,
 * well under a second or two.
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

const DEFAULT_LIMITS: BrokerLimits = {
  beforeAuthPacketBytes: BEFORE_AUTH_MAX_PACKET_BYTES,
  beforeAuthTotalBytes: BEFORE_AUTH_MAX_TOTAL_BYTES,
  afterAuthPacketBytes: AFTER_AUTH_MAX_PACKET_BYTES,
  maxConnectionsPerAddress: MAX_CONNECTIONS_PER_ADDRESS,
  maxConnectionsTotal: MAX_CONNECTIONS_TOTAL,
  maxSubscriptionsPerClient: MAX_SUBSCRIPTIONS_PER_CLIENT,
  refusalsBeforeThrottle: REFUSALS_BEFORE_THROTTLE,
  refusalWindowMs: REFUSAL_WINDOW_MS,
  refusalLogIntervalMs: REFUSAL_LOG_INTERVAL_MS,
  tarpitHoldMs: TARPIT_HOLD_MS,
};

/** What the broker has done, counted since start (tests and the bench read it). */
export interface BrokerStats {
  /** CONNECTs whose credentials were checked (a secret hashed and compared). */
  credentialChecks: number;
  /** CONNECTs refused, with or without a credential check. */
  connectRefusals: number;
  /** Connections closed without a look because their address was throttled. */
  throttledConnections: number;
  /** Connections refused at accept by the per-address or total connection limit. */
  connectionLimitRefusals: number;
  /** Connections closed by the packet guard (too large, malformed, too much before auth). */
  guardRefusals: number;
  /** Live sessions closed because their credential was revoked. */
  revokedSessions: number;
  /** Retain flags cleared on publishes outside the retained channels. */
  retainCleared: number;
  /** Connections open now (admitted and not yet closed). */
  openConnections: number;
}

export interface EmbeddedBroker {
  port: number;
  /** Set when `tls` was given. */
  tlsPort?: number;
  /** Lets gateways in (see holdGatewaysUntilReady). */
  acceptGateways(): void;
  /**
   * Checks every live session's credential now (revocation.ts) instead of at the next sweep: for
   * a change made in this process. Resolves with the number of sessions closed.
   */
  recheckSessions(): Promise<number>;
  stats(): BrokerStats;
  close(): Promise<void>;
}

/**
 * CONNACK return codes (MQTT 3.1.1 section 3.2.2.3, Table 3.1). aedes declares them as an ambient
 * `const enum`, which `isolatedModules` cannot read, so the numbers are spelt out here.
 */
const CONNACK_IDENTIFIER_REJECTED = 2;
const CONNACK_SERVER_UNAVAILABLE = 3;
const CONNACK_BAD_USERNAME_OR_PASSWORD = 4;
const CONNACK_NOT_AUTHORIZED = 5;

type ConnackRefusal =
  | typeof CONNACK_IDENTIFIER_REJECTED
  | typeof CONNACK_SERVER_UNAVAILABLE
  | typeof CONNACK_BAD_USERNAME_OR_PASSWORD
  | typeof CONNACK_NOT_AUTHORIZED;

function refusal(returnCode: ConnackRefusal, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode });
}

type AuthOutcome =
  { ok: true; identity: BrokerIdentity; hash: string } | { ok: false; code: ConnackRefusal; reason: string };

async function checkCredentials(
  clientId: string,
  username: string | undefined,
  password: Buffer | undefined,
  gateways: CredentialStore,
  services: CredentialStore,
  key: CredentialKey,
): Promise<AuthOutcome> {
  const bad = (reason: string): AuthOutcome => ({
    ok: false,
    code: CONNACK_BAD_USERNAME_OR_PASSWORD,
    reason,
  });
  if (username === undefined || password === undefined) return bad('missing username or password');

  let identity: BrokerIdentity;
  let store: CredentialStore;
  let id: string;
  if (username.startsWith(SERVICE_USERNAME_PREFIX)) {
    id = username.slice(SERVICE_USERNAME_PREFIX.length);
    if (!isGatewayId(id)) return bad('malformed service account name');
    identity = { kind: 'service', name: id };
    store = services;
  } else {
    id = username;
    if (!isGatewayId(id)) return bad('username is not a gateway id');
    identity = { kind: 'gateway', gatewayId: id };
    store = gateways;
  }

  // A keyed hash: an unknown id costs the same HMAC as a known one (no enumeration by timing) and
  // no CONNECT from an unknown or wrong party reaches the slow KDF (broker/credentials.ts).
  const checked = await authenticateSecret(store, id, password.toString('utf8'), key);
  if (checked.result === 'unknown') return bad('unknown account');
  if (checked.result === 'refused') return bad(checked.reason);
  if (checked.disabled) return { ok: false, code: CONNACK_NOT_AUTHORIZED, reason: 'account disabled' };

  const clientIdOk =
    identity.kind === 'gateway'
      ? clientId === gatewayClientId(identity.gatewayId)
      : isServiceClientId(identity.name, clientId);
  if (!clientIdOk) {
    // "The Client identifier is correct UTF-8 but not allowed by the Server" (section 3.2.2.3).
    return { ok: false, code: CONNACK_IDENTIFIER_REJECTED, reason: 'client id does not match the account' };
  }
  // The hash now stored (keyed, after a legacy upgrade): what revocation compares against.
  return { ok: true, identity, hash: checked.hash };
}

function suppressedFields(line: RefusalLogLine): Record<string, unknown> {
  return line.suppressedSinceLast === 0
    ? {}
    : { suppressedSinceLast: line.suppressedSinceLast, suppressedReasons: line.suppressedReasons };
}

function describe(identity: BrokerIdentity): Record<string, string> {
  return identity.kind === 'gateway' ? { gatewayId: identity.gatewayId } : { serviceAccount: identity.name };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('server has no TCP address'));
      else resolve(address.port);
    });
  });
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { credentials, serviceAccounts, logger } = options;
  const host = options.host ?? '127.0.0.1';
  const limits: BrokerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  /** Identity of every authenticated connection; absent means "not authenticated": deny. */
  const identities = new WeakMap<Client, BrokerIdentity>();
  /** Authenticated sessions and the stored hash each was checked against (revocation.ts). */
  const sessions = new Map<Client, LiveSession<Client>>();
  /** Filters each client holds or has asked for (the subscription cap). */
  const subscriptions = new WeakMap<Client, Set<string>>();
  const connectionLimits = new ConnectionLimits({
    perAddress: limits.maxConnectionsPerAddress,
    total: limits.maxConnectionsTotal,
  });
  const throttle = new RefusalThrottle({
    limit: limits.refusalsBeforeThrottle,
    windowMs: limits.refusalWindowMs,
  });
  const refusalLog = new RefusalLog(limits.refusalLogIntervalMs);
  const tarpit = new Tarpit(limits.tarpitHoldMs);
  const stats: Omit<BrokerStats, 'openConnections'> = {
    credentialChecks: 0,
    connectRefusals: 0,
    throttledConnections: 0,
    connectionLimitRefusals: 0,
    guardRefusals: 0,
    revokedSessions: 0,
    retainCleared: 0,
  };

  /** The source address of a client's connection (the guarded stream aedes was given). */
  const addressOf = (client: Client): string => {
    const conn = (client as unknown as { conn?: unknown }).conn;
    return conn instanceof GuardedConnection ? (conn.socket.remoteAddress ?? 'unknown') : 'unknown';
  };

  /** One line per address per interval (refusals.ts); the ones folded in are counted in the next. */
  const logRefusal = (address: string, reason: string, fields: Record<string, unknown>): void => {
    const line = refusalLog.take(address, reason);
    if (line === null) return;
    logger.warn({ address, ...fields, reason, ...suppressedFields(line) }, 'mqtt connection refused');
  };

  let gatewaysWelcome = options.holdGatewaysUntilReady !== true;

  const broker = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      const clientId = typeof client.id === 'string' ? client.id : '';
      const address = addressOf(client);
      // Before the service listens, a gateway is told to come back (section 3.2.2.3, code 3),
      // cheaply: no credential check is spent on it.
      if (!gatewaysWelcome && !(username ?? '').startsWith(SERVICE_USERNAME_PREFIX)) {
        done(refusal(CONNACK_SERVER_UNAVAILABLE, 'the service is not listening yet'), false);
        return;
      }
      // An address that keeps failing is refused before any secret is hashed (refusals.ts).
      if (throttle.isThrottled(address)) {
        stats.connectRefusals += 1;
        stats.throttledConnections += 1;
        logRefusal(address, 'address throttled', { clientId: clientId.slice(0, 80) });
        done(refusal(CONNACK_NOT_AUTHORIZED, 'too many refused connections from this address'), false);
        return;
      }
      stats.credentialChecks += 1;
      const refuse = (code: ConnackRefusal, reason: string, detail: string, counts = true): void => {
        stats.connectRefusals += 1;
        // A failing database is not the client's doing: it does not count towards the throttle.
        if (counts) throttle.record(address);
        // Log who and why, never the password.
        logRefusal(address, reason, {
          username: typeof username === 'string' ? username.slice(0, 80) : null,
          clientId: clientId.slice(0, 80),
          ...(detail === reason ? {} : { detail }),
        });
        done(refusal(code, reason), false);
      };
      checkCredentials(
        clientId,
        username,
        password,
        credentials,
        serviceAccounts,
        options.credentialKey,
      ).then(
        (outcome) => {
          if (outcome.ok) {
            identities.set(client, outcome.identity);
            sessions.set(client, { client, identity: outcome.identity, hash: outcome.hash });
            // From here on the contract's payload limit applies instead of the CONNECT-sized one.
            const conn = (client as unknown as { conn?: unknown }).conn;
            if (conn instanceof GuardedConnection) conn.guard.markAuthenticated();
            logger.info({ ...describe(outcome.identity), clientId, address }, 'mqtt client authenticated');
            done(null, true);
            return;
          }
          refuse(outcome.code, outcome.reason, outcome.reason);
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          // "Server unavailable" would invite instant retries; "not authorized" is the safe answer.
          refuse(
            CONNACK_NOT_AUTHORIZED,
            'credential lookup failed',
            `credential lookup failed: ${message}`,
            false,
          );
        },
      );
    },

    authorizePublish(client: Client | null, packet: PublishPacket, done) {
      const identity = client === null ? undefined : identities.get(client);
      if (identity === undefined) {
        done(new Error('publish refused: no authenticated identity'));
        return;
      }
      if (packet.retain && !identityMayRetain(identity, packet.topic)) {
        // Only the contract's retained channels keep a message (acl.ts identityMayRetain): the
        // flag is cleared so a client cannot leave retained messages on topics nobody reads.
        packet.retain = false;
        stats.retainCleared += 1;
      }
      if (!identityMayPublish(identity, packet.topic)) {
        logger.warn(
          { ...describe(identity), topic: packet.topic, reason: 'topic not allowed' },
          'mqtt publish refused',
        );
        // aedes answers an error here by closing the connection without delivering the message;
        // MQTT 3.1.1 has no negative PUBACK, and section 3.3.5 allows the server to disconnect.
        done(new Error('publish not authorized'));
        return;
      }
      done(null);
    },

    authorizeSubscribe(client: Client, subscription: Subscription, done) {
      const identity = identities.get(client);
      let held = subscriptions.get(client);
      if (held === undefined) {
        held = new Set();
        subscriptions.set(client, held);
      }
      if (!held.has(subscription.topic) && held.size >= limits.maxSubscriptionsPerClient) {
        logger.warn(
          {
            ...(identity ? describe(identity) : {}),
            topic: subscription.topic.slice(0, 200),
            reason: `more than ${limits.maxSubscriptionsPerClient} subscriptions`,
          },
          'mqtt subscription refused',
        );
        done(null, null);
        return;
      }
      if (identity === undefined || !identityMaySubscribe(identity, subscription.topic)) {
        logger.warn(
          {
            ...(identity ? describe(identity) : {}),
            topic: subscription.topic,
            reason: 'filter not allowed',
          },
          'mqtt subscription refused',
        );
        // A null subscription makes aedes answer SUBACK 0x80 "Failure" for this filter
        // (MQTT 3.1.1 section 3.9.3) and keep the connection and the other filters.
        done(null, null);
        return;
      }
      held.add(subscription.topic);
      done(null, subscription);
    },
  });
  broker.on('unsubscribe', (filters: string[], client: Client) => {
    const held = subscriptions.get(client);
    if (held !== undefined) for (const filter of filters) held.delete(filter);
  });
  broker.on('clientDisconnect', (client: Client) => {
    sessions.delete(client);
  });

  /** Closes a revoked session; its will is not published, since it has no identity any more. */
  const revoke = (session: LiveSession<Client>, reason: string): void => {
    sessions.delete(session.client);
    identities.delete(session.client);
    stats.revokedSessions += 1;
    logger.warn(
      { ...describe(session.identity), clientId: session.client.id, reason },
      'mqtt session revoked: connection closed',
    );
    session.client.close();
  };
  let sweeping: Promise<number> | null = null;
  let sweepAgain: Promise<number> | null = null;
  const sweepOnce = (): Promise<number> =>
    sweepSessions({
      gateways: credentials,
      services: serviceAccounts,
      sessions: () => {
        for (const client of sessions.keys()) if (client.closed) sessions.delete(client);
        return [...sessions.values()];
      },
      revoke,
    });
  /** One sweep at a time; asked during one, another follows it (that one may have read too early). */
  const recheckSessions = (): Promise<number> => {
    if (sweeping === null) {
      sweeping = sweepOnce().finally(() => {
        sweeping = null;
      });
      return sweeping;
    }
    sweepAgain ??= sweeping
      .catch(() => 0)
      .then(() => {
        sweepAgain = null;
        return recheckSessions();
      });
    return sweepAgain;
  };
  const sweepNow = (): void => {
    recheckSessions().catch((error: unknown) => {
      // Sessions are kept: cutting every gateway on a database hiccup would only start a storm of
      // reconnects that fail the same way. The next sweep tries again.
      logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'mqtt revocation check failed; retrying at the next interval',
      );
    });
  };
  const revocationTimer = setInterval(sweepNow, options.revocationCheckMs ?? REVOCATION_CHECK_INTERVAL_MS);
  // A change made in this process takes effect at once (revocation.ts notifyCredentialsChanged).
  const stopListening = onCredentialsChanged(sweepNow);
  revocationTimer.unref();
  const refusalLogTimer = setInterval(
    () => {
      for (const line of refusalLog.flush())
        logger.warn(
          { address: line.address, ...suppressedFields(line) },
          'mqtt connections refused (summary)',
        );
    },
    Math.max(1000, limits.refusalLogIntervalMs),
  );
  refusalLogTimer.unref();

  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  /**
   * The refusal throttle and the connection limits, judged on the TCP socket before anything is
   * read from it. An admitted socket is tracked (close() destroys it) and counted until it closes.
   * `onThrottled` is what happens to a throttled one: the plain listener holds it in the tarpit.
   */
  const admit = (socket: Socket, onThrottled: (socket: Socket) => void): boolean => {
    const address = socket.remoteAddress ?? 'unknown';
    if (throttle.isThrottled(address)) {
      stats.throttledConnections += 1;
      logRefusal(address, 'address throttled', {});
      onThrottled(socket);
      return false;
    }
    const overLimit = connectionLimits.admit(address);
    if (overLimit !== null) {
      stats.connectionLimitRefusals += 1;
      logRefusal(address, overLimit, {});
      socket.destroy();
      return false;
    }
    socket.once('close', () => connectionLimits.release(address));
    track(socket);
    return true;
  };

  /** An admitted socket (or the TLS socket over one) goes to aedes behind the packet guard (packet-guard.ts). */
  const handOver = (socket: Socket): void => {
    const address = socket.remoteAddress ?? 'unknown';
    const guard = new PacketGuard({
      beforeAuthPacketBytes: limits.beforeAuthPacketBytes,
      beforeAuthTotalBytes: limits.beforeAuthTotalBytes,
      afterAuthPacketBytes: limits.afterAuthPacketBytes,
    });
    const connection = new GuardedConnection(socket, guard, (verdict) => {
      stats.guardRefusals += 1;
      const fields = verdict.announced === undefined ? {} : { announcedBytes: verdict.announced };
      if (guard.isAuthenticated) {
        logger.warn(
          { address, reason: verdict.reason, ...fields },
          'mqtt connection closed by the packet guard',
        );
      } else {
        // Unauthenticated: counted against the address like any refused CONNECT.
        throttle.record(address);
        logRefusal(address, verdict.reason, fields);
      }
    });
    broker.handle(connection);
  };

  // Paused: nothing is read from a socket before admit() has let it in (GuardedConnection
  // resumes it), so a refused or held one never costs a read buffer. Held unread for a while
  // rather than closed at once, which would invite the next (tarpit.ts).
  const server = createServer({ pauseOnConnect: true }, (socket: Socket) => {
    if (admit(socket, (held) => tarpit.hold(held))) handOver(socket);
  });
  const servers: Server[] = [server];
  let port: number;
  let tlsPort: number | undefined;
  try {
    port = await listen(server, options.port, host);
    if (options.tls) {
      const tlsServer = createTlsServer(
        { key: options.tls.key, cert: options.tls.cert, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
        handOver,
      );
      // Judged on the raw TCP socket, before the TLS handshake (the costly part of a TLS
      // connection, and up to TLS_HANDSHAKE_TIMEOUT_MS of holding it open): a throttled or
      // over-limit address gets no handshake, and a socket still in its handshake is counted and
      // tracked, so close() destroys it. 'secureConnection' (handOver) follows only for admitted ones.
      // Throttled ones are closed at once: the TLS server reads from the socket itself, so the
      // tarpit could not hold it unread.
      tlsServer.on('connection', (raw: Socket) => {
        admit(raw, (refused) => refused.destroy());
      });
      servers.push(tlsServer);
      tlsPort = await listen(tlsServer, options.tls.port, host);
    }
  } catch (error) {
    await Promise.all(servers.map((s) => closeServer(s, sockets)));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw error;
  }
  logger.info({ host, port, tlsPort }, 'embedded mqtt broker listening');

  let closing: Promise<void> | null = null;
  return {
    port,
    ...(tlsPort === undefined ? {} : { tlsPort }),
    acceptGateways(): void {
      gatewaysWelcome = true;
    },
    recheckSessions,
    stats: () => ({ ...stats, openConnections: connectionLimits.total }),
    close(): Promise<void> {
      closing ??= (async () => {
        clearInterval(revocationTimer);
        tarpit.releaseAll();
        stopListening();
        clearInterval(refusalLogTimer);
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await Promise.all(servers.map((s) => closeServer(s, sockets)));
      })();
      return closing;
    },
  };
}
