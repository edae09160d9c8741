import assert from 'node:assert/strict';
import { classifyStoreError, refusalReason, sqlState } from '../../src/ingest/db-errors.ts';

/** An error shaped as postgres.js reports a server error. */
function postgresError(code: string, message = 'refused', extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(message), { name: 'PostgresError', code, ...extra });
}

describe('classifyStoreError', () => {
  it('when the database refuses the data (class 22 or 23), then it is a data error', () => {
    for (const code of ['22P02', '22021', '22003', '22001', '23514', '23502', '23503', '23P01']) {
      assert.equal(classifyStoreError(postgresError(code)), 'data', code);
    }
  });

  it('when a unique key other than the deduplicating ones is violated, then it is a data error', () => {
    assert.equal(
      classifyStoreError(postgresError('23505', 'dup', { table_name: 'sites' })),
      'data',
    );
  });

  it('when an event was stored before (the redelivery unique violation), then it is not blamed on the data', () => {
    for (const table of ['telemetry_events', 'telemetry_event_ids']) {
      assert.equal(
        classifyStoreError(postgresError('23505', 'dup', { table_name: table })),
        'transient',
        table,
      );
    }
  });

  it('when the database refuses the statement (class 42, 54, P0), then it is a statement error', () => {
    for (const code of ['42601', '42501', '42P01', '42703', '54000', 'P0001']) {
      assert.equal(classifyStoreError(postgresError(code)), 'statement', code);
    }
  });

  it('when the database cannot do it now, then it is transient', () => {
    const codes = ['08006', '08001', '40001', '40P01', '57014', '57P01', '57P03', '53300', '53100'];
    for (const code of [...codes, '55P03', 'XX000', '58030']) {
      assert.equal(classifyStoreError(postgresError(code)), 'transient', code);
    }
  });

  it('when the error is no PostgreSQL server error, then it is transient', () => {
    const notServer = [
      Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' }),
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      // Five capitals, but a socket's code, not a SQLSTATE.
      Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }),
      new TypeError('x is undefined'),
      'a string',
      undefined,
    ];
    for (const error of notServer) assert.equal(classifyStoreError(error), 'transient');
  });
});

describe('refusalReason', () => {
  it('when the database refused an event, then the reason gives its SQLSTATE and message', () => {
    const error = postgresError('22P02', 'invalid input syntax for type uuid: "urn:uuid:x"');
    assert.equal(sqlState(error), '22P02');
    assert.equal(
      refusalReason(error),
      'database refused the event (SQLSTATE 22P02): invalid input syntax for type uuid: "urn:uuid:x"',
    );
  });

  it('when the message is very long, then the reason is cut to 1000 characters', () => {
    assert.equal(refusalReason(postgresError('22001', 'x'.repeat(5000))).length, 1000);
  });
});
