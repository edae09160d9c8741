import { SpanKind, tracingActive, withSpan, type Sql } from '@telemetrypulse/shared';
import { requestSql } from '../http/query-scope.ts';

const CLIENT_SPAN = { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql' } };

/**
 * Runs one database call inside a CLIENT span named after it, a child of the request's span.
 * With tracing off it only runs the call: no span object, no context switch.
 */
export function inDbSpan<T>(operation: string, run: () => Promise<T>): Promise<T> {
  if (!tracingActive()) return run();
  return withSpan(
    operation,
    { ...CLIENT_SPAN, attributes: { ...CLIENT_SPAN.attributes, 'db.operation.name': operation } },
    run,
  );
}

/**
 * A repository function whose every call is one CLIENT span (see inDbSpan), and whose queries
 * are cancelled when the request they serve ends first (see query-scope.ts).
 */
export function traced<A extends unknown[], R>(
  operation: string,
  query: (sql: Sql, ...args: A) => Promise<R>,
): (sql: Sql, ...args: A) => Promise<R> {
  return (sql, ...args) => inDbSpan(operation, async () => query(requestSql(sql), ...args));
}
