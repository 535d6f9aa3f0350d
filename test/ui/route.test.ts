/**
 * The UI's hash routes (ui/kit/route.ts): pages, parameters, the query (the setup token), and
 * what an unknown or malformed hash gives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hrefOf, parseHash } from '../../ui/kit/route.js';

const PATTERNS = ['/overview', '/devices/:id', '/alarms', '/setup'];

describe('UI hash routes', () => {
  it('matches a page, its parameters and its query', () => {
    assert.deepEqual(parseHash('#/devices/gas-1', PATTERNS, '/overview'), {
      pattern: '/devices/:id',
      path: '/devices/gas-1',
      params: { id: 'gas-1' },
      query: {},
    });
    const setup = parseHash('#/setup?token=abc%2B1&x=2', PATTERNS, '/overview');
    assert.equal(setup.pattern, '/setup');
    assert.deepEqual(setup.query, { token: 'abc+1', x: '2' });
  });

  it('takes an empty hash as the fallback page', () => {
    assert.equal(parseHash('', PATTERNS, '/overview').pattern, '/overview');
    assert.equal(parseHash('#/', PATTERNS, '/overview').pattern, '/overview');
  });

  it('matches no page for an unknown path or a malformed escape', () => {
    assert.equal(parseHash('#/nope', PATTERNS, '/overview').pattern, '');
    assert.equal(parseHash('#/devices/a/b', PATTERNS, '/overview').pattern, '');
    assert.equal(parseHash('#/devices/%E0%A4%A', PATTERNS, '/overview').pattern, '');
  });

  it('escapes parameters into a hash and reads them back', () => {
    const href = hrefOf('/devices/:id', { id: 'lamp/3 a' });
    assert.equal(href, '#/devices/lamp%2F3%20a');
    assert.deepEqual(parseHash(href, PATTERNS, '/overview').params, { id: 'lamp/3 a' });
  });
});
