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
import {
  gatewayClientId,
  identityMayPublish,
  identityMaySubscribe,
  isServiceClientId,
  SERVICE_USERNAME_PREFIX,
  type BrokerIdentity,
} from './acl.js';
import { dummyHashForTiming, verifySecret, type CredentialStore } from './credentials.js';

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
}

export interface EmbeddedBroker {
  port: number;
  /** Set when `tls` was given. */
  tlsPort?: number;
  /** Lets gateways in (see holdGatewaysUntilReady). */
  acceptGateways(): void;
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
  { ok: true; identity: BrokerIdentity } | { ok: false; code: ConnackRefusal; reason: string };

async function checkCredentials(
  clientId: string,
  username: string | undefined,
  password: Buffer | undefined,
  gateways: CredentialStore,
  services: CredentialStore,
): Promise<AuthOutcome> {
  const bad = (reason: string): AuthOutcome => ({
    ok: false,
    code: CONNACK_BAD_USERNAME_OR_PASSWORD,
    reason,
  });
  if (username === undefined || password === undefined) return bad('missing username or password');

  let identity: BrokerIdentity;
  let stored;
  if (username.startsWith(SERVICE_USERNAME_PREFIX)) {
    const name = username.slice(SERVICE_USERNAME_PREFIX.length);
    if (!isGatewayId(name)) return bad('malformed service account name');
    identity = { kind: 'service', name };
    stored = await services.get(name);
  } else {
    if (!isGatewayId(username)) return bad('username is not a gateway id');
    identity = { kind: 'gateway', gatewayId: username };
    stored = await gateways.get(username);
  }

  const secret = password.toString('utf8');
  if (stored === null) {
    // Spend the same work as a real check so an unknown id cannot be told apart by timing.
    await verifySecret(secret, await dummyHashForTiming());
    return bad('unknown account');
  }
  if (!(await verifySecret(secret, stored.hash))) return bad('wrong secret');
  if (stored.disabled) return { ok: false, code: CONNACK_NOT_AUTHORIZED, reason: 'account disabled' };

  const clientIdOk =
    identity.kind === 'gateway'
      ? clientId === gatewayClientId(identity.gatewayId)
      : isServiceClientId(identity.name, clientId);
  if (!clientIdOk) {
    // "The Client identifier is correct UTF-8 but not allowed by the Server" (section 3.2.2.3).
    return { ok: false, code: CONNACK_IDENTIFIER_REJECTED, reason: 'client id does not match the account' };
  }
  return { ok: true, identity };
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
  /** Identity of every authenticated connection; absent means "not authenticated": deny. */
  const identities = new WeakMap<Client, BrokerIdentity>();

  let gatewaysWelcome = options.holdGatewaysUntilReady !== true;

  const broker = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      const clientId = typeof client.id === 'string' ? client.id : '';
      // Before the service listens, a gateway is told to come back (section 3.2.2.3, code 3),
      // cheaply: no credential check is spent on it.
      if (!gatewaysWelcome && !(username ?? '').startsWith(SERVICE_USERNAME_PREFIX)) {
        done(refusal(CONNACK_SERVER_UNAVAILABLE, 'the service is not listening yet'), false);
        return;
      }
      checkCredentials(clientId, username, password, credentials, serviceAccounts).then(
        (outcome) => {
          if (outcome.ok) {
            identities.set(client, outcome.identity);
            logger.info({ ...describe(outcome.identity), clientId }, 'mqtt client authenticated');
            done(null, true);
            return;
          }
          // Log who and why, never the password.
          logger.warn(
            {
              username: typeof username === 'string' ? username.slice(0, 80) : null,
              clientId,
              reason: outcome.reason,
            },
            'mqtt connection refused',
          );
          done(refusal(outcome.code, outcome.reason), false);
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          logger.warn(
            { clientId, reason: `credential lookup failed: ${message}` },
            'mqtt connection refused',
          );
          // "Server unavailable" would invite instant retries; "not authorized" is the safe answer.
          done(refusal(CONNACK_NOT_AUTHORIZED, 'credential lookup failed'), false);
        },
      );
    },

    authorizePublish(client: Client | null, packet: PublishPacket, done) {
      const identity = client === null ? undefined : identities.get(client);
      if (identity === undefined) {
        done(new Error('publish refused: no authenticated identity'));
        return;
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
      done(null, subscription);
    },
  });

  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  const server = createServer((socket) => {
    track(socket);
    broker.handle(socket);
  });
  const servers: Server[] = [server];
  let port: number;
  let tlsPort: number | undefined;
  try {
    port = await listen(server, options.port, host);
    if (options.tls) {
      const tlsServer = createTlsServer({ key: options.tls.key, cert: options.tls.cert }, (socket) => {
        track(socket);
        broker.handle(socket);
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
    close(): Promise<void> {
      closing ??= (async () => {
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await Promise.all(servers.map((s) => closeServer(s, sockets)));
      })();
      return closing;
    },
  };
}
