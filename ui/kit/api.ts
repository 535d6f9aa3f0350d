/**
 * The API client (docs/ui.md, "Talking to the server"): JSON over fetch on the page's own origin,
 * with the session cookie (credentials 'same-origin'; the cookie is HttpOnly, the page never sees
 * it). Every refusal becomes an ApiError carrying the server's stable code (docs/errors.md), its
 * issues by pointer, and a message in the user's language where the code is known.
 *
 * A 401 on any call but the sign-in ones means the session ended (idle or absolute expiry, logout
 * elsewhere, user disabled): the app is told once, and goes to the sign-in page.
 */
import type { ApiError as ApiErrorBody } from '../../gateway/web/api-types.js';
import { hasKey, translate } from './i18n.js';

export type Issue = { pointer: string; message: string };

/** A request the server refused (4xx/5xx) or could not receive (status 0: network). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: readonly Issue[] = [],
    readonly requestId: string | null = null,
    /** The whole answer, for the fields a route adds to its refusal (BusReadRefusal ...). */
    readonly body: unknown = null,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;

/** What to do when a call answers 401 (the app navigates to the sign-in page). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export interface RequestOptions {
  /** Sign-in and the session probe answer 401 as an answer, not as "session ended". */
  quiet401?: boolean;
  signal?: AbortSignal;
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { error?: unknown }).error === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

async function request<T>(method: string, path: string, body: unknown, options: RequestOptions): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (options.signal !== undefined) init.signal = options.signal;
  if (body !== undefined) {
    // application/json is not a "simple" content type: a cross-origin page cannot send it without
    // a CORS preflight the server never grants (OWASP CSRF Prevention Cheat Sheet, defence in
    // depth beside the server's Origin / Sec-Fetch-Site check).
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', error instanceof Error ? error.message : String(error));
  }
  const text = await response.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      parsed = null;
    }
  }
  if (response.ok) return parsed as T;
  if (response.status === 401 && options.quiet401 !== true) onUnauthorized();
  if (isErrorBody(parsed)) {
    throw new ApiError(
      response.status,
      parsed.error,
      parsed.message,
      parsed.issues ?? [],
      parsed.requestId ?? null,
      parsed,
    );
  }
  throw new ApiError(response.status, response.status >= 500 ? 'SERVER' : 'UNKNOWN', response.statusText);
}

export const api = {
  get: <T>(path: string, options: RequestOptions = {}) => request<T>('GET', path, undefined, options),
  post: <T>(path: string, body: unknown = {}, options: RequestOptions = {}) =>
    request<T>('POST', path, body, options),
  put: <T>(path: string, body: unknown, options: RequestOptions = {}) =>
    request<T>('PUT', path, body, options),
  patch: <T>(path: string, body: unknown, options: RequestOptions = {}) =>
    request<T>('PATCH', path, body, options),
  delete: <T>(path: string, body: unknown, options: RequestOptions = {}) =>
    request<T>('DELETE', path, body, options),
};

/** A URL path with each dynamic segment escaped: path`/api/alarms/${key}/acknowledge`. */
export function path(strings: TemplateStringsArray, ...values: Array<string | number>): string {
  return strings.reduce(
    (out, part, i) => out + part + (i < values.length ? encodeURIComponent(String(values[i])) : ''),
    '',
  );
}

/**
 * What to tell a person about a failure, in their language: the dictionary's text for a known
 * code (`err.<CODE>`), otherwise the server's own message (which names what to fix).
 */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    // The issues name the field by pointer (the server's words): what exactly to fix.
    const issues = error.issues.map((i) => `${i.pointer === '' ? '/' : i.pointer}: ${i.message}`).join('; ');
    const text = headline(error);
    return issues === '' ? text : `${text} (${issues})`;
  }
  return error instanceof Error ? error.message : String(error);
}

function headline(error: ApiError): string {
  const key = `err.${error.code}`;
  if (hasKey(key)) {
    return translate(key, { message: error.message, status: error.status, requestId: error.requestId ?? '' });
  }
  if (error.status >= 500) return translate('err.SERVER', { requestId: error.requestId ?? '' });
  return error.message !== '' ? error.message : translate('err.UNKNOWN', { status: error.status });
}

/** An RFC 6901 JSON pointer from its segments (`~` -> `~0`, `/` -> `~1`), as the API names settings. */
export function pointerOf(...segments: string[]): string {
  return segments.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
