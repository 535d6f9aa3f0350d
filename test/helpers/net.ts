/**
 * Sockets in tests (issue 11): the one place that finds a free port and probes one. Importing this makes a test
 * an integration test (test/tiers.ts).
 */
import { createConnection, createServer } from 'node:net';

/**
 * A loopback TCP port that was free a moment ago, for peers that cannot be told to pick one
 * themselves (mosquitto, PostgreSQL, modbus-serial's ServerTCP, which reads 0 as 502). Another
 * process may still take it before the caller binds it.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}

/** Whether something accepts a TCP connection on the loopback `port` now. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
