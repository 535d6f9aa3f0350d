/**
 * Test tiers (issue 11). `npm run test:unit` runs the unit tier, `npm run test:integration` the
 * rest, `npm test` (test/run.sh) both; every file comes from this list, so none is in neither.
 *
 * The rule: a test file is an integration test when it, or any file under test/ that it imports
 * (transitively; `import type` does not count), imports one of INTEGRATION_MARKERS: modules that
 * open sockets, start processes, pseudo-terminals, a broker or PostgreSQL. Every other test file is
 * a unit test (codecs, state machines, planners, pure modules; in-memory SQLite is fine). To move a
 * test to the unit tier, take the marker out of its imports; never list files by hand.
 *
 * `node --import tsx test/tiers.ts unit|integration|all` prints the files, one a line;
 * `... explain` prints each file's tier and the import chain that made it an integration test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Node built-ins and packages (by name), and source modules (by path from the repository root). */
export const INTEGRATION_MARKERS: readonly string[] = [
  'node:net',
  'node:tls',
  'node:http',
  'node:https',
  'node:http2',
  'node:dgram',
  'node:child_process',
  'node:cluster',
  'node:worker_threads',
  'mqtt',
  'aedes',
  'pg',
  'serialport',
  'modbus-serial',
  'playwright-core',
  // our own modules that listen, connect or spawn when used
  'cloud-sync/service/service.ts',
  'cloud-sync/service/broker/embedded.ts',
  'drivers/transport/serial.ts',
  'drivers/transport/tcp.ts',
  'gateway/gateway.ts',
  'gateway/metrics/server.ts',
  'gateway/web/server.ts',
  'gateway/uplink/uplink.ts',
  'simulators/index.ts',
  'simulators/pty-pair.ts',
];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const IMPORT =
  /(?:^|\n)[ \t]*(?:import|export)(\s+type)?\b[^;'"`]*?from\s*['"]([^'"]+)['"]|(?:^|\n)[ \t]*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Value imports of a file: package names, `node:` modules, and resolved paths of relative ones. */
function importsOf(file: string): string[] {
  const found: string[] = [];
  for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    if (match[1]) continue; // import type
    const spec = match[2] ?? match[3] ?? match[4] ?? '';
    if (spec.startsWith('.')) {
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      if (existsSync(target)) found.push(relative(ROOT, target));
    } else if (spec.startsWith('node:')) {
      found.push(spec);
    } else {
      found.push(
        spec
          .split('/')
          .slice(0, spec.startsWith('@') ? 2 : 1)
          .join('/'),
      );
    }
  }
  return found;
}

/** The import chain from `file` to an integration marker, or null for a unit test. */
export function integrationChain(file: string, seen = new Set<string>()): string[] | null {
  if (seen.has(file)) return null;
  seen.add(file);
  for (const dep of importsOf(join(ROOT, file))) {
    if (INTEGRATION_MARKERS.includes(dep)) return [file, dep];
    if (dep.startsWith('test/') && dep.endsWith('.ts')) {
      const chain = integrationChain(dep, seen);
      if (chain) return [file, ...chain];
    }
  }
  return null;
}

/** Every test file, sorted; benchmarks live in test/bench and run only through `npm run bench`. */
export function testFiles(): string[] {
  const out = execFileSync('find', ['test', '-name', '*.test.ts', '-not', '-path', 'test/bench/*'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter((line) => line !== '')
    .sort();
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const tier = process.argv[2];
  const files = testFiles();
  if (tier === 'all') {
    console.log(files.join('\n'));
  } else if (tier === 'unit' || tier === 'integration') {
    const chosen = files.filter((f) => (integrationChain(f) === null) === (tier === 'unit'));
    console.log(chosen.join('\n'));
  } else if (tier === 'explain') {
    for (const f of files) {
      const chain = integrationChain(f);
      console.log(chain ? `integration ${f}  (${chain.slice(1).join(' -> ')})` : `unit        ${f}`);
    }
  } else {
    console.error('usage: node --import tsx test/tiers.ts unit|integration|all|explain');
    process.exit(2);
  }
}
