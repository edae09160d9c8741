import assert from 'node:assert/strict';
import { requestIdFrom } from '../../src/http/request-context.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request ids', () => {
  it('when the caller sends a plain id, then it is kept', () => {
    assert.equal(requestIdFrom('abc-123:retry.2'), 'abc-123:retry.2');
  });

  it('when the caller sends none, then a uuid is generated', () => {
    assert.match(requestIdFrom(undefined), UUID);
  });

  it('when the caller sends something unsafe for logs, then a uuid replaces it', () => {
    assert.match(requestIdFrom('line\nbreak'), UUID);
    assert.match(requestIdFrom('x'.repeat(200)), UUID);
    assert.match(requestIdFrom(''), UUID);
    assert.match(requestIdFrom(['a', 'b']), UUID);
  });
});
