/**
 * Builds the browser apps (docs/ui.md): each folder named in APPS becomes a static bundle in
 * dist/ui/<app>/ (index.html plus hashed assets), which the servers read and serve from memory.
 * Run by scripts/ensure-ui.mjs (on `npm ci`, before `npm start` and `npm test`) when ui/ changed.
 * `KERBSIDE_UI_APP=cabinet vite build --config ui/vite.config.ts` builds one app.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const app = process.env['KERBSIDE_UI_APP'] ?? 'cabinet';
const root = fileURLToPath(new URL(`./${app}/`, import.meta.url));
const outDir = fileURLToPath(new URL(`../dist/ui/${app}/`, import.meta.url));

export default defineConfig({
  root,
  // Relative asset URLs: the bundle works under any path prefix a server mounts it at.
  base: './',
  // Nothing is fetched at run time from anywhere but the serving origin (no CDN, no web font).
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    // Budget (issue 13: the whole page within 300 kB compressed); Vite warns above it.
    chunkSizeWarningLimit: 200,
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: true,
  },
});
