/**
 * Hash routes (docs/ui.md, "Routing"): `#/devices/gas-1`, `#/setup?token=...`. Pure parsing and
 * matching, no DOM (test/ui/route.test.ts); ui/kit/router.ts follows location.hash with a signal.
 *
 * Why the hash: the servers serve one index.html and never need to know the pages, a reload
 * never asks the server for a path it does not have, and the setup token in `#/setup?token=`
 * is never sent to the server in a request line or a Referer (only the page's script reads it).
 */

export interface Route {
  /** The pattern that matched, e.g. "/devices/:id"; "" when none did. */
  pattern: string;
  /** The path as written, e.g. "/devices/gas-1". */
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
}

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed %-escape names no page (the caller shows "no such page").
    return null;
  }
}

/** The query part `a=1&b=2` as an object (first value wins; malformed pairs are skipped). */
function parseQuery(query: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(query)) {
    if (!(key in result)) result[key] = value;
  }
  return result;
}

/** Matches one path against one pattern of `/literal/:param` segments. */
export function matchPattern(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter((s) => s !== '');
  const have = path.split('/').filter((s) => s !== '');
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const w = want[i] ?? '';
    const h = decode(have[i] ?? '');
    if (h === null) return null;
    if (w.startsWith(':')) params[w.slice(1)] = h;
    else if (w !== h) return null;
  }
  return params;
}

/** The route a hash names, matched against the patterns in order; an empty hash is `fallback`. */
export function parseHash(hash: string, patterns: readonly string[], fallback: string): Route {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  const [pathPart = '', queryPart = ''] = raw.split('?', 2);
  const path = pathPart === '' || pathPart === '/' ? fallback : pathPart;
  const query = parseQuery(queryPart);
  for (const pattern of patterns) {
    const params = matchPattern(pattern, path);
    if (params !== null) return { pattern, path, params, query };
  }
  return { pattern: '', path, params: {}, query };
}

/** The hash of a path with its parameters escaped: hrefOf('/devices/:id', {id: 'a b'}). */
export function hrefOf(pattern: string, params: Record<string, string> = {}): string {
  const path = pattern
    .split('/')
    .map((segment) =>
      segment.startsWith(':') ? encodeURIComponent(params[segment.slice(1)] ?? '') : segment,
    )
    .join('/');
  return `#${path}`;
}
