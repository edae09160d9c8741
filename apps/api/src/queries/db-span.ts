import { SpanKind, tracingActive, withSpan } from '@telemetrypulse/shared';

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

/** A repository function whose every call is one CLIENT span (see inDbSpan). */
export function traced<A extends unknown[], R>(
  operation: string,
  query: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return (...args) => inDbSpan(operation, () => query(...args));
}
