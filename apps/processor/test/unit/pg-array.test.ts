import assert from 'node:assert/strict';
import { numberArrayLiteral, textArrayLiteral } from '../../src/ingest/pg-array.ts';

describe('array literals', () => {
  it('when texts are plain, then each is quoted, so a value spelled NULL stays a text', () => {
    assert.equal(textArrayLiteral(['site-01', 'NULL', '']), '{"site-01","NULL",""}');
  });

  it('when a text holds a quote or a backslash, then it is escaped', () => {
    assert.equal(textArrayLiteral(['a"b', 'c\\d', 'e']), '{"a\\"b","c\\\\d","e"}');
  });

  it('when there are no values, then the literal is an empty array', () => {
    assert.equal(textArrayLiteral([]), '{}');
    assert.equal(numberArrayLiteral([]), '{}');
  });

  it('when numbers are given, then each is spelled so that it reads back as the same double', () => {
    const values = [0.1, 612.5, -12.25, 1e21, 5e-324, 1 / 3];
    const literal = numberArrayLiteral(values);
    assert.deepEqual(literal.slice(1, -1).split(',').map(Number), values);
  });
});
