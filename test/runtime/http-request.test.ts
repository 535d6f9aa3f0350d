/**
 * The request helpers both HTTP servers share (runtime/http-request.ts): the session credential
 * by cookie name and the same-origin check against cross-site requests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cookieOf, isSafeMethod, sameOrigin, sessionCredentialOf } from '../../runtime/http-request.js';

const request = (headers: Record<string, string>, protocol = 'https', host = 'cabinet.local:8443') => ({
  headers,
  protocol,
  host,
});

describe('runtime/http-request', () => {
  it('reads the named cookie among others, and nothing for an empty or absent one', () => {
    const headers = { cookie: 'theme=dark; __Host-kerbside_cabinet=abc_DEF-123; kerbside_cabinet=other' };
    assert.equal(cookieOf(headers, '__Host-kerbside_cabinet'), 'abc_DEF-123');
    assert.equal(cookieOf(headers, 'kerbside_cabinet'), 'other');
    assert.equal(cookieOf({ cookie: 'a=1; kerbside_cabinet=' }, 'kerbside_cabinet'), null);
    assert.equal(cookieOf({ cookie: 'xkerbside_cabinet=1' }, 'kerbside_cabinet'), null);
    assert.equal(cookieOf({}, 'kerbside_cabinet'), null);
    assert.equal(cookieOf({ cookie: 'kerbside_cabinet="quoted"' }, 'kerbside_cabinet'), 'quoted');
  });

  it('takes a Bearer header before the cookie, and says where the credential came from', () => {
    assert.deepEqual(
      sessionCredentialOf({ headers: { authorization: 'Bearer tok.en', cookie: 'c=x' } }, 'c'),
      {
        token: 'tok.en',
        fromCookie: false,
      },
    );
    assert.deepEqual(sessionCredentialOf({ headers: { authorization: 'Basic x', cookie: 'c=x' } }, 'c'), {
      token: 'x',
      fromCookie: true,
    });
    assert.equal(sessionCredentialOf({ headers: {} }, 'c'), null);
  });

  it('accepts only same-origin Fetch Metadata, else an Origin equal to the request’s own', () => {
    assert.equal(sameOrigin(request({ 'sec-fetch-site': 'same-origin' })), true);
    for (const site of ['same-site', 'cross-site', 'none']) {
      assert.equal(
        sameOrigin(request({ 'sec-fetch-site': site, origin: 'https://cabinet.local:8443' })),
        false,
        site,
      );
    }
    assert.equal(sameOrigin(request({ origin: 'https://cabinet.local:8443' })), true);
    assert.equal(sameOrigin(request({ origin: 'HTTPS://Cabinet.Local:8443' })), true);
    assert.equal(sameOrigin(request({ origin: 'http://cabinet.local:8443' })), false, 'another scheme');
    assert.equal(sameOrigin(request({ origin: 'https://cabinet.local' })), false, 'another port');
    assert.equal(sameOrigin(request({ origin: 'null' })), false);
    assert.equal(sameOrigin(request({})), false, 'neither header: not a page of ours');
  });

  it('knows the safe methods', () => {
    assert.deepEqual(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'get'].map(isSafeMethod), [
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      true,
    ]);
  });
});
