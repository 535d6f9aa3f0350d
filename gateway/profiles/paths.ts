/**
 * Where the device-profiles/ folder is. Resolved from this module's own location, not from the
 * working directory, so the gateway finds its profiles however it is started. When running from
 * the build output (dist/gateway/profiles/) the folder is one level further up.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CANDIDATES = ['../../device-profiles/', '../../../device-profiles/'];

export function defaultProfileDirectory(): string {
  for (const candidate of CANDIDATES) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(`${dir}schema/profile.schema.json`)) return dir.replace(/[\\/]$/, '');
  }
  // Fall back to the source layout so the error message names a sensible path.
  return fileURLToPath(new URL(CANDIDATES[0] ?? '', import.meta.url)).replace(/[\\/]$/, '');
}
