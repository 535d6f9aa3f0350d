#!/usr/bin/env node
/**
 * Builds the browser apps when their sources changed (docs/ui.md, "Build"): every folder of ui/
 * with an index.html is an app, built by Vite into dist/ui/<app>/. A hash of ui/ and
 * package-lock.json is kept in dist/ui/<app>/.inputs; an unchanged hash skips the build, so
 * `npm start` and `npm test` pay nothing when nothing changed. Runs on `npm ci` (prepare), before
 * `npm start` (prestart) and in test/run.sh, so the README's two commands do all the set-up.
 * `--force` builds regardless.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const uiDir = join(root, 'ui');
const force = process.argv.includes('--force');

/** Every file under `dir`, sorted, so the hash does not depend on directory order. */
function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return filesUnder(path);
      return entry.isFile() ? [path] : [];
    })
    .sort();
}

function inputsHash() {
  const hash = createHash('sha256');
  for (const file of [...filesUnder(uiDir), join(root, 'package-lock.json')]) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

const apps = readdirSync(uiDir).filter(
  (name) => statSync(join(uiDir, name)).isDirectory() && existsSync(join(uiDir, name, 'index.html')),
);
// A production install (`npm ci --omit=dev`) has no Vite: it runs on a bundle built where the
// dev dependencies are (`npm run build`, docs/deployment.md). Say so, never fail the install.
const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
if (!existsSync(vite)) {
  for (const app of apps) {
    if (!existsSync(join(root, 'dist', 'ui', app, 'index.html')))
      console.error(
        `the ${app} web UI is not built and Vite is not installed (npm ci --omit=dev): build it with the dev dependencies (npm run build) and ship dist/ui/${app}`,
      );
  }
  process.exit(0);
}
const hash = inputsHash();
for (const app of apps) {
  const stamp = join(root, 'dist', 'ui', app, '.inputs');
  if (!force && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) continue;
  console.error(`building the ${app} web UI (ui/${app} changed)`);
  try {
    execFileSync(
      process.execPath,
      [vite, 'build', '--config', join(uiDir, 'vite.config.ts'), '--logLevel', 'warn'],
      {
        cwd: root,
        stdio: 'inherit',
        env: { ...process.env, KERBSIDE_UI_APP: app },
      },
    );
  } catch {
    console.error(
      `ERROR: the ${app} web UI did not build (see above); fix ui/${app} and run npm run build:ui`,
    );
    process.exit(1);
  }
  writeFileSync(stamp, hash);
}
