/**
 * The UI bundle served from memory (gateway/web/assets.ts): compressed once, the right types and
 * cache headers, ETags, and a page that says how to build the UI when it is missing.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { chooseEncoding, defaultAssetsDir } from '../../../gateway/web/assets.js';
import { webHarness, type WebHarness } from './harness.js';

const INDEX = `<!doctype html><html><head><script type="module" src="./assets/index-Bx12ab.js"></script>
<link rel="stylesheet" href="./assets/index-C9zz.css"></head><body><div id="app"></div></body></html>`;
const SCRIPT = `export const strings = ${JSON.stringify(Array.from({ length: 300 }, (_, i) => `label number ${i}`))};\n`;
const STYLE = `${Array.from({ length: 100 }, (_, i) => `.row-${i} { color: #333; padding: ${i}px; }`).join('\n')}\n`;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

describe('gateway/web assets', () => {
  let bundleDir: string;
  let h: WebHarness;

  before(async () => {
    bundleDir = mkdtempSync(join(tmpdir(), 'kerbside-ui-'));
    mkdirSync(join(bundleDir, 'assets'));
    writeFileSync(join(bundleDir, 'index.html'), INDEX);
    writeFileSync(join(bundleDir, 'assets', 'index-Bx12ab.js'), SCRIPT);
    writeFileSync(join(bundleDir, 'assets', 'index-C9zz.css'), STYLE);
    writeFileSync(join(bundleDir, 'assets', 'logo-A1.png'), PNG);
    writeFileSync(join(bundleDir, '.inputs'), 'hash of the sources');
    h = await webHarness({ assetsDir: bundleDir });
  });
  after(async () => {
    await h.close();
    rmSync(bundleDir, { recursive: true, force: true });
  });

  it('serves the page at / and /index.html, revalidated at each load, compressed as the browser accepts', async () => {
    for (const url of ['/', '/index.html']) {
      const br = await h.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip, deflate, br' } });
      assert.equal(br.statusCode, 200);
      assert.equal(br.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(br.headers['cache-control'], 'no-cache');
      assert.equal(br.headers['content-encoding'], 'br');
      assert.equal(br.headers['vary'], 'Accept-Encoding');
      assert.equal(brotliDecompressSync(br.rawPayload).toString('utf8'), INDEX);
    }
    const plain = await h.inject({ method: 'GET', url: '/' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body, INDEX);
  });

  it('serves hashed assets with their type, immutable for a year, gzip when br is not accepted', async () => {
    const script = await h.inject({
      method: 'GET',
      url: '/assets/index-Bx12ab.js',
      headers: { 'accept-encoding': 'gzip' },
    });
    assert.equal(script.statusCode, 200);
    assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(script.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(script.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(script.rawPayload).toString('utf8'), SCRIPT);
    assert.ok(script.rawPayload.length < SCRIPT.length / 3, 'compressed well');
    const style = await h.inject({
      method: 'GET',
      url: '/assets/index-C9zz.css',
      headers: { 'accept-encoding': 'br;q=1, gzip;q=0.5' },
    });
    assert.equal(style.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(style.headers['content-encoding'], 'br');
    const png = await h.inject({
      method: 'GET',
      url: '/assets/logo-A1.png',
      headers: { 'accept-encoding': 'br' },
    });
    assert.equal(png.headers['content-type'], 'image/png');
    assert.equal(png.headers['content-encoding'], undefined, 'an image is not compressed again');
    assert.deepEqual(png.rawPayload, PNG);
  });

  it('answers 304 to a matching If-None-Match, per representation', async () => {
    const first = await h.inject({
      method: 'GET',
      url: '/assets/index-Bx12ab.js',
      headers: { 'accept-encoding': 'br' },
    });
    const etag = String(first.headers['etag']);
    assert.match(etag, /^"[A-Za-z0-9_-]+-br"$/);
    const again = await h.inject({
      method: 'GET',
      url: '/assets/index-Bx12ab.js',
      headers: { 'accept-encoding': 'br', 'if-none-match': etag },
    });
    assert.equal(again.statusCode, 304);
    assert.equal(again.rawPayload.length, 0);
    const otherEncoding = await h.inject({
      method: 'GET',
      url: '/assets/index-Bx12ab.js',
      headers: { 'accept-encoding': 'identity', 'if-none-match': etag },
    });
    assert.equal(otherEncoding.statusCode, 200);
  });

  it('serves nothing else: unknown assets, dot files and other paths are 404', async () => {
    for (const url of ['/assets/nope.js', '/.inputs', '/assets/..%2Findex.html', '/alarms', '/index.htm']) {
      const response = await h.inject({ method: 'GET', url });
      assert.ok(response.statusCode === 404 || response.statusCode === 400, `${url}: ${response.statusCode}`);
      assert.ok(!response.body.includes('hash of the sources'));
    }
  });

  it('answers / with 503 and how to build the UI when the bundle is missing; the API still works', async () => {
    const bare = await webHarness();
    try {
      const page = await bare.inject({ method: 'GET', url: '/' });
      assert.equal(page.statusCode, 503);
      assert.match(page.body, /npm run build:ui/);
      assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
      assert.deepEqual((await bare.inject({ method: 'GET', url: '/api/setup' })).json(), { needed: true });
    } finally {
      await bare.close();
    }
  });

  it('chooses br, then gzip, then none from Accept-Encoding, honouring q=0 and *', () => {
    assert.equal(chooseEncoding(undefined), 'identity');
    assert.equal(chooseEncoding('gzip, deflate, br, zstd'), 'br');
    assert.equal(chooseEncoding('br;q=0, gzip'), 'gzip');
    assert.equal(chooseEncoding('*'), 'br');
    assert.equal(chooseEncoding('*;q=0, identity'), 'identity');
    assert.equal(chooseEncoding('deflate'), 'identity');
  });

  it('finds the built bundle, dist/ui/cabinet, never the unbuilt ui/cabinet sources', () => {
    assert.ok(defaultAssetsDir().endsWith(join('dist', 'ui', 'cabinet') + '/'), defaultAssetsDir());
  });
});
