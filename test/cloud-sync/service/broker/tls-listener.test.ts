/**
 * The embedded broker's MQTT-over-TLS listener: connection limits and close() apply to raw TCP
 * connections that never finish (or never start) a TLS handshake, not only to ones that do.
 */
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connectAsync } from 'mqtt';
import { generate } from 'selfsigned';
import { gatewayClientId } from '../../../../cloud-sync/contract/topics.js';
import {
  generateSecret,
  hashSecret,
  MemoryCredentialStore,
} from '../../../../cloud-sync/service/broker/credentials.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../../cloud-sync/service/broker/embedded.js';
import { CredentialKey } from '../../../../cloud-sync/service/secrets/credential-key.js';
import { waitFor } from '../../../helpers/wait.js';
import { MemoryLogger } from './helpers.js';

const credentialKey = CredentialKey.generate();
const SECRET = generateSecret();
const PER_ADDRESS = 3;
/** Fails a test that hangs (a close() that never resolves) instead of the whole run. */
const HANG_GUARD_MS = 10_000;

let pems: { private: string; cert: string };

async function startTlsBroker(): Promise<EmbeddedBroker> {
  const credentials = new MemoryCredentialStore();
  credentials.set('gw-a', { hash: hashSecret(SECRET, credentialKey), disabled: false });
  return startEmbeddedBroker({
    port: 0,
    credentials,
    serviceAccounts: new MemoryCredentialStore(),
    credentialKey,
    logger: new MemoryLogger(),
    tls: { port: 0, key: pems.private, cert: pems.cert },
    limits: { maxConnectionsPerAddress: PER_ADDRESS },
  });
}

function tlsPortOf(broker: EmbeddedBroker): number {
  assert.ok(broker.tlsPort !== undefined, 'the broker has a TLS listener');
  return broker.tlsPort;
}

/** A TCP connection to the TLS port that never sends a ClientHello; resolves once connected. */
function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

function closed(socket: Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}

describe('embedded broker TLS listener', () => {
  const sockets: Socket[] = [];

  before(async () => {
    pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      algorithm: 'sha256',
      keyType: 'ec',
      notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
    });
  });

  after(() => {
    for (const socket of sockets) socket.destroy();
  });

  it(
    'closes raw TCP connections beyond the per-address cap before any handshake',
    { timeout: HANG_GUARD_MS },
    async () => {
      const broker = await startTlsBroker();
      try {
        const opened: Socket[] = [];
        for (let i = 0; i < PER_ADDRESS + 5; i += 1) {
          const socket = await rawSocket(tlsPortOf(broker));
          socket.on('error', () => undefined);
          sockets.push(socket);
          opened.push(socket);
        }
        await waitFor('five connection-limit refusals', () => broker.stats().connectionLimitRefusals === 5);
        // The server closed every socket past the cap; the first PER_ADDRESS still await a handshake.
        await Promise.all(opened.slice(PER_ADDRESS).map(closed));
        assert.ok(opened.slice(0, PER_ADDRESS).every((socket) => !socket.closed));
        assert.equal(broker.stats().openConnections, PER_ADDRESS);
      } finally {
        for (const socket of sockets) socket.destroy();
        await broker.close();
      }
    },
  );

  it(
    'close() resolves while raw TCP connections are still in their handshake, and closes them',
    { timeout: HANG_GUARD_MS },
    async () => {
      const broker = await startTlsBroker();
      const opened: Socket[] = [];
      for (let i = 0; i < PER_ADDRESS; i += 1) {
        const socket = await rawSocket(tlsPortOf(broker));
        socket.on('error', () => undefined);
        sockets.push(socket);
        opened.push(socket);
      }
      await waitFor('the raw sockets to be counted', () => broker.stats().openConnections === PER_ADDRESS);
      // Before the fix this hung until the clients gave up (the test's hang guard fails it then).
      await broker.close();
      await Promise.all(opened.map(closed));
    },
  );

  it(
    'counts a completed TLS connection once and releases it when it ends',
    { timeout: HANG_GUARD_MS },
    async () => {
      const broker = await startTlsBroker();
      try {
        const client = await connectAsync(`mqtts://127.0.0.1:${tlsPortOf(broker)}`, {
          clientId: gatewayClientId('gw-a'),
          username: 'gw-a',
          password: SECRET,
          protocolVersion: 4,
          reconnectPeriod: 0,
          connectTimeout: 3000,
          ca: pems.cert,
          servername: 'localhost',
        });
        assert.equal(broker.stats().openConnections, 1);
        await client.endAsync();
        await waitFor('the connection to be released', () => broker.stats().openConnections === 0);
      } finally {
        await broker.close();
      }
    },
  );
});
