/**
 * How deep JSON text nests, measured on the text before it is parsed: both HTTP servers (the cloud
 * API, cloud-sync/service/api/json-body.ts; the cabinet web UI, gateway/web/app.ts) refuse a
 * request body nested deeper than they read, because every recursive walk after the parse (a
 * schema validator, a serializer) risks the stack on a 20,000-deep document of a few dozen
 * kilobytes. Imports nothing of ours (runtime/, eslint.config.js).
 */
import type { FastifyInstance } from 'fastify';

/**
 * The deepest nesting of `{` and `[` in JSON text, brackets inside strings not counted; one pass,
 * no recursion, whatever the text (malformed text is the parser's to refuse). Stops counting once
 * past `limit`.
 */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      // RFC 8259 section 7: a backslash escapes the next character, a quote ends the string.
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x7d || c === 0x5d) depth -= 1;
  }
  return deepest;
}

/**
 * Installs the application/json parser both servers use: fastify's own (it refuses `__proto__`
 * keys) behind the depth check, which answers `tooDeep(message)` (each server's own error code)
 * before anything is parsed. The caller removes the parsers it does not want first.
 */
export function addDepthLimitedJsonParser(
  app: FastifyInstance,
  maxDepth: number,
  tooDeep: (message: string) => Error,
): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonDepth(text, maxDepth) > maxDepth) {
      done(tooDeep(`the request body nests objects and arrays deeper than ${maxDepth} levels`), undefined);
      return;
    }
    // fastify's parser answers through `done`; its return value carries nothing.
    void parse(request, text, done);
  });
}
