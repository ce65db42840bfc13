import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestToken } from './request-token.js';

const token = 'abcdefghijklmnop_-0123';

describe('requestToken', () => {
  it('takes a bearer token before the session cookie', () => {
    assert.deepEqual(requestToken(`Bearer ${token}`, 'halyard_session=other-token-0000000'), { token, via: 'bearer' });
    assert.deepEqual(requestToken(undefined, `theme=dark; halyard_session=${token}`), { token, via: 'cookie' });
  });

  it('finds no token in anything not shaped like one, and never throws', () => {
    assert.equal(requestToken(undefined, undefined), undefined);
    assert.equal(requestToken('Basic abc', undefined), undefined);
    assert.equal(requestToken(undefined, 'halyard_session=%E0%A4%A'), undefined);
    assert.equal(requestToken(undefined, 'halyard_session=short'), undefined);
    assert.equal(requestToken(undefined, `other_session=${token}`), undefined);
  });
});
