/**
 * The cabinet UI's static bundle (dist/ui/cabinet/, built by Vite from ui/cabinet; docs/ui.md),
 * served from memory: index.html and the hashed files of assets/ are read once when the app is
 * built and compressed once (brotli at its best quality, and gzip), so a page load costs no disk
 * read and no compression work while the gateway polls. Explicit routes, all public:
 *
 *   GET /, /index.html   the page, Cache-Control: no-cache (revalidated by ETag at each load, so a
 *                        new bundle is picked up at once)
 *   GET /assets/:name    a hashed file (its name changes with its content), cached for a year as
 *                        immutable (RFC 8246)
 *
 * The UI routes by the URL's fragment (#/alarms), so no other path is a page. The encoding is
 * chosen from Accept-Encoding (br, then gzip, then none), with `Vary: Accept-Encoding` and an ETag
 * per representation (RFC 9110 section 8.8.3); If-None-Match answers 304. A missing bundle (the UI
 * was never built) leaves the API working and answers `/` with 503 and how to build it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebError } from './errors.js';

export interface UiAsset {
  contentType: string;
  cacheControl: string;
  /** Strong validator of the uncompressed bytes; the encoded forms add a suffix. */
  etag: string;
  identity: Buffer;
  /** Only when smaller than the identity bytes. */
  br: Buffer | null;
  gzip: Buffer | null;
}

export interface UiBundle {
  /** Where it was read from. */
  dir: string;
  /** null: the bundle is missing (`npm run build:ui`). */
  index: UiAsset | null;
  /** By file name under assets/. */
  assets: ReadonlyMap<string, UiAsset>;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Types worth compressing (text); images and fonts are compressed already. */
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.webmanifest', '.svg', '.txt']);

const PAGE_CACHE = 'no-cache';
const HASHED_CACHE = 'public, max-age=31536000, immutable';

/** A name Vite gives a hashed file: no path separators, no leading dot. */
const ASSET_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * dist/ui/cabinet of this checkout, from the source (gateway/web/, run by tsx) or the build
 * (dist/gateway/web/, where ../../ui/cabinet is dist/ui/cabinet; from the source it would be the
 * unbuilt ui/cabinet).
 */
export function defaultAssetsDir(): string {
  const here = fileURLToPath(import.meta.url);
  const built = here.includes(`${sep}dist${sep}gateway${sep}web${sep}`);
  return fileURLToPath(new URL(built ? '../../ui/cabinet/' : '../../dist/ui/cabinet/', import.meta.url));
}

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/**
 * Reads one file and compresses it, in libuv's thread pool (brotli at its best quality takes a
 * third of a second for the whole bundle): the event loop, which runs polling and alarms, is not
 * held up while the web server starts.
 */
async function prepare(path: string, cacheControl: string): Promise<UiAsset> {
  const identity = readFileSync(path);
  const extension = extname(path).toLowerCase();
  const etag = createHash('sha256').update(identity).digest('base64url').slice(0, 27);
  const compressible = COMPRESSIBLE.has(extension);
  const smaller = (encoded: Buffer): Buffer | null => (encoded.length < identity.length ? encoded : null);
  const [br, gzipped] = compressible
    ? await Promise.all([
        brotliAsync(identity, {
          params: {
            [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY,
            [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT,
            [zlib.BROTLI_PARAM_SIZE_HINT]: identity.length,
          },
        }),
        gzipAsync(identity, { level: zlib.Z_BEST_COMPRESSION }),
      ])
    : [null, null];
  return {
    contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream',
    cacheControl,
    etag,
    identity,
    br: br === null ? null : smaller(br),
    gzip: gzipped === null ? null : smaller(gzipped),
  };
}

/** Reads and compresses the bundle in `dir` (index.html, assets/*); a missing bundle is no error. */
export async function loadUiBundle(dir: string): Promise<UiBundle> {
  const indexPath = join(dir, 'index.html');
  if (!existsSync(indexPath)) return { dir, index: null, assets: new Map() };
  const assetsDir = join(dir, 'assets');
  const names = existsSync(assetsDir)
    ? readdirSync(assetsDir)
        .sort()
        .filter((name) => ASSET_NAME_RE.test(name) && statSync(join(assetsDir, name)).isFile())
    : [];
  const prepared = await Promise.all(names.map((name) => prepare(join(assetsDir, name), HASHED_CACHE)));
  const assets = new Map(names.map((name, i) => [name, prepared[i] as UiAsset]));
  return { dir, index: await prepare(indexPath, PAGE_CACHE), assets };
}

type Encoding = 'br' | 'gzip' | 'identity';

/**
 * The encoding to send for an Accept-Encoding header (RFC 9110 section 12.5.3): br if acceptable,
 * else gzip, else none. `q=0` refuses a coding; `*` stands for any coding not named.
 */
export function chooseEncoding(header: string | undefined): Encoding {
  if (header === undefined) return 'identity';
  const weights = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    let q = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(param);
      if (match?.[1] !== undefined) q = Number(match[1]);
    }
    if (name !== '') weights.set(name.trim(), Number.isFinite(q) ? q : 0);
  }
  const acceptable = (coding: string): boolean => (weights.get(coding) ?? weights.get('*') ?? 0) > 0;
  if (acceptable('br')) return 'br';
  if (acceptable('gzip')) return 'gzip';
  return 'identity';
}

function send(asset: UiAsset, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const wanted = chooseEncoding(request.headers['accept-encoding']);
  const body = wanted === 'identity' ? asset.identity : (asset[wanted] ?? asset.identity);
  const encoding: Encoding = body === asset.identity ? 'identity' : wanted;
  const etag = `"${asset.etag}${encoding === 'identity' ? '' : `-${encoding}`}"`;
  reply
    .header('content-type', asset.contentType)
    .header('cache-control', asset.cacheControl)
    .header('vary', 'Accept-Encoding')
    .header('etag', etag);
  const ifNoneMatch = request.headers['if-none-match'];
  if (
    typeof ifNoneMatch === 'string' &&
    ifNoneMatch.split(',').some((tag) => [etag, '*'].includes(tag.trim()))
  ) {
    return reply.code(304).send();
  }
  if (encoding !== 'identity') reply.header('content-encoding', encoding);
  return reply.send(body);
}

/** The page shown when the bundle was never built: plain HTML, nothing to load. */
const MISSING_UI_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kerbside cabinet</title></head>
<body><h1>The cabinet UI is not built</h1>
<p>Run <code>npm run build:ui</code> (or <code>npm ci</code>) on this machine, then restart the gateway. The API under /api/ works meanwhile.</p>
<p>界面尚未构建：请运行 <code>npm run build:ui</code>，然后重启网关。</p>
</body></html>
`;

const pageSchema = { response: { 200: { type: 'string' }, 304: { type: 'null' }, 503: { type: 'string' } } };

/** The page and asset routes (public: the sign-in page itself must load). */
export function registerAssetRoutes(app: FastifyInstance, bundle: UiBundle): void {
  const page = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (bundle.index === null) {
      return reply
        .code(503)
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(MISSING_UI_PAGE);
    }
    return send(bundle.index, request, reply);
  };
  for (const url of ['/', '/index.html']) {
    app.get(
      url,
      { config: { cabinetAccess: { public: true } }, compress: false, schema: { hide: true, ...pageSchema } },
      page,
    );
  }
  app.get<{ Params: { name: string } }>(
    '/assets/:name',
    {
      config: { cabinetAccess: { public: true } },
      compress: false,
      schema: {
        hide: true,
        params: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 200 } },
        },
        ...pageSchema,
      },
    },
    async (request, reply) => {
      const asset = bundle.assets.get(request.params.name);
      if (asset === undefined) throw new WebError('WEB_NOT_FOUND', `no asset ${request.params.name}`);
      return send(asset, request, reply);
    },
  );
}
