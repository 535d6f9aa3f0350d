/**
 * The API's one JSON body parser: fastify's own (secure-json-parse, which refuses `__proto__` and
 * `constructor.prototype` keys), behind a depth check of the raw text. A 20 000-deep document is a
 * few dozen kilobytes, well inside any body limit, but every recursive walk after the parse (the
 * schema validator, the forbidden-key walk, a serializer) risks the stack ("Maximum call stack
 * size exceeded", a 500) or at least a long, pointless run. No request of this API nests deeper
 * than a configuration document (its own limit is 32 levels, contract/config-document.ts), so the
 * text is refused before it is parsed when its brackets nest deeper than MAX_BODY_DEPTH.
 */
import type { FastifyInstance } from 'fastify';
import { addDepthLimitedJsonParser, jsonDepth } from '../../../runtime/json-depth.js';
import { ApiError } from './errors.js';

/** Deepest nesting of objects and arrays a request body may have (RFC 8259 section 9 allows a limit). */
export const MAX_BODY_DEPTH = 64;

// The measure itself is shared with the cabinet's web server (runtime/json-depth.ts).
export { jsonDepth };

/**
 * Replaces fastify's `application/json` parser with the depth-checked one, and removes its
 * `text/plain` parser: a browser sends `text/plain` cross-site without a CORS preflight
 * (Fetch standard, "CORS-safelisted request-header"), so accepting it would let another site's
 * form post to the API; every API body is JSON.
 */
export function useJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  addDepthLimitedJsonParser(app, MAX_BODY_DEPTH, (message) => new ApiError('API_BODY_TOO_DEEP', message));
}
