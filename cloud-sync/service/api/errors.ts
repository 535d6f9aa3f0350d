/**
 * The codes the API answers for a request no area's code fits: one that fails its route's schema,
 * that the HTTP layer refuses before any route sees it, that names no route, or that fails in a way
 * nobody expected. The error handler of buildHttpApp (http.ts) answers each of them, like every
 * area's error, as `{error: CODE, message, issues?}` with the status declared here.
 */
import { errorClass, type ErrorCatalogue } from '../../contract/errors.js';

export const API_ERRORS = {
  REQUEST_INVALID: {
    means:
      "The request fails its route's schema: an unknown parameter or field, a missing one, a wrong type or value; `issues` names each by JSON pointer.",
    status: 400,
  },
  API_BODY_MALFORMED: { means: 'The request body is not valid JSON.', status: 400 },
  API_BODY_EMPTY: { means: 'The request declares a JSON body (Content-Type) but sends none.', status: 400 },
  API_BODY_TOO_LARGE: {
    means:
      'The request body is larger than its route accepts: 8 KiB for sign-in and enrollment, 1 MiB for a configuration document, 64 KiB elsewhere (http.ts BODY_LIMITS).',
    status: 413,
  },
  API_BODY_TOO_DEEP: {
    means:
      'The request body nests objects and arrays deeper than the API reads (64 levels, api/json-body.ts).',
    status: 400,
  },
  API_UNSUPPORTED_MEDIA_TYPE: {
    means: 'The request body is of a media type the API does not read; send application/json.',
    status: 415,
  },
  API_BAD_REQUEST: {
    means:
      'Another malformed request the HTTP layer refused before any route (a Content-Length that does not match the body, a bad URL); answered with its 4xx status.',
    status: 400,
  },
  API_NOT_FOUND: { means: 'No route of the API has this method and path.', status: 404 },
  API_SCRAPE_TOKEN_REQUIRED: {
    means:
      'GET /metrics or the OpenAPI document without the scrape token (`Authorization: Bearer <token>`, setting http.scrapeTokenFile or KERBSIDE_SCRAPE_TOKEN), or none is configured.',
    status: 401,
  },
  API_INTERNAL: {
    means:
      'The service failed unexpectedly; the answer is `{error, requestId}` and nothing more, the service log line with that request id has the error.',
    status: 500,
  },
} as const satisfies ErrorCatalogue<string>;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends errorClass('ApiError', API_ERRORS) {}
