import assert from 'node:assert/strict';
import { decodeCursor, encodeCursor } from '../../src/http/page-cursor.ts';
import { ProblemError } from '../../src/http/problem.ts';

const base64url = (text: string) => Buffer.from(text).toString('base64url');

function assertRejected(cursor: string): void {
  assert.throws(
    () => decodeCursor(cursor),
    (error: unknown) =>
      error instanceof ProblemError &&
      error.problem.status === 400 &&
      error.problem.parameter === 'cursor',
    cursor,
  );
}

describe('page cursors', () => {
  it('when a cursor this API made comes back, then it decodes to the same position', () => {
    const position = { timeMs: Date.parse('2025-06-01T12:00:00Z'), id: 42 };
    assert.deepEqual(decodeCursor(encodeCursor(position)), position);
  });

  it('when a cursor is not base64 of JSON, then it is a 400 naming the parameter', () => {
    for (const cursor of [
      'bogus',
      '!!!!',
      '%00',
      '\u0000',
      base64url('[1,'),
      base64url('\u0000'),
    ]) {
      assertRejected(cursor);
    }
  });

  it('when a cursor is valid base64 of JSON of another shape, then it is a 400', () => {
    for (const json of [
      '{}',
      '[]',
      '[1]',
      '[1,2,3]',
      '["1","2"]',
      'null',
      '42',
      '[1.5,2]',
      '[1,true]',
    ]) {
      assertRejected(base64url(json));
    }
  });

  it('when a cursor holds huge or negative values, then it is a 400, never a date the database refuses', () => {
    for (const json of [
      '[9007199254740993,1]',
      '[8640000000000001,1]',
      '[1e400,1]',
      '[-1,1]',
      '[-8640000000000000,1]',
      '[0,0]',
      '[0,-5]',
    ]) {
      assertRejected(base64url(json));
    }
  });
});
