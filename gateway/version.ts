/**
 * The running software version, reported in the uplink status. Read from package.json at start
 * so a release bumps one place only.
 */
import { readFileSync } from 'node:fs';

// package.json is one level up from gateway/version.ts, and two from the build output's
// dist/gateway/version.js (`npm run build`, how production runs it).
const CANDIDATES = ['../package.json', '../../package.json'];

function readVersion(): string {
  for (const candidate of CANDIDATES) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8'));
      const version =
        typeof pkg === 'object' && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
      if (typeof version === 'string' && version.length > 0) return version;
    } catch {
      // not in this layout: try the next
    }
  }
  return 'unknown';
}

export const GATEWAY_VERSION = readVersion();
