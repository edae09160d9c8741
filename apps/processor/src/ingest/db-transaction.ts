import type { Histogram } from 'prom-client';
import { SpanKind, tracingActive, withSpan } from '@telemetrypulse/shared';

const SPAN = 'store events';

/**
 * Runs the transaction that stores a group of `events` events: its duration goes into
 * `seconds` once it commits (a failed attempt is retried and counted as a store retry), and
 * with tracing on it is a CLIENT span. An empty group opens no transaction and is not timed.
 */
export async function timeTransaction<T>(
  seconds: Histogram,
  events: number,
  run: () => Promise<T>,
): Promise<T> {
  if (events === 0) return run();
  const started = performance.now();
  const result = tracingActive()
    ? await withSpan(
        SPAN,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'postgresql',
            'db.operation.name': 'storeBatch',
            'db.operation.batch.size': events,
          },
        },
        run,
      )
    : await run();
  seconds.observe((performance.now() - started) / 1000);
  return result;
}
