import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import type { Logger, Sql } from '@telemetrypulse/shared';
import { unavailable } from './problem.ts';

/**
 * Queries are cancelled when their request ends early: the request timeout answered for it, or
 * the client went away. Without that, a slow query keeps its pooled connection (and the
 * database's time) long after nobody waits for its answer, and a few impatient clients that
 * retry fill the pool. The request's queries are found through AsyncLocalStorage, so routes and
 * query functions need not pass a signal around.
 */
interface RequestQueries {
  /** The response has closed (sent, timed out, or its client left). */
  closed: boolean;
  queries: Set<CancellableQuery>;
  logger: Logger;
}

/** What postgres.js gives for a tagged template: a promise that runs when awaited. */
interface CancellableQuery {
  /** Set once awaited: only such a query is queued or running (a fragment never is). */
  executed: boolean;
  /** postgres.js's own; see cancelQuery. */
  canceller?: ((query: CancellableQuery) => Promise<void>) | null;
}

const scopes = new AsyncLocalStorage<RequestQueries | undefined>();

const isQuery = (value: unknown): value is CancellableQuery =>
  value instanceof Promise && typeof (value as { cancel?: unknown }).cancel === 'function';

/**
 * query.cancel() drops the promise of its cancel request, whose failure (the database out of
 * reach) would be an unhandled rejection and end the process; this keeps it. A query that is
 * queued is taken off the queue (it rejects with 57014), a running one is cancelled by the
 * server, one that is done is left as it is.
 */
function cancelQuery(query: CancellableQuery, logger: Logger): void {
  const cancel = query.canceller;
  if (!cancel) return;
  query.canceller = null;
  cancel(query).catch((error: unknown) => {
    logger.debug({ err: error }, 'cancelling a query failed');
  });
}

/** Runs `next` (the rest of the request) with its queries tracked until `res` closes. */
export function trackRequestQueries(res: ServerResponse, logger: Logger, next: () => void): void {
  const scope: RequestQueries = { closed: false, queries: new Set(), logger };
  res.once('close', () => {
    scope.closed = true;
    for (const query of scope.queries) if (query.executed) cancelQuery(query, logger);
    scope.queries.clear();
  });
  scopes.run(scope, next);
}

/**
 * Runs `work` as nobody's request: its queries are not cancelled with the request that started
 * it (a cached view that other requests wait for too, a refresh in the background).
 */
export function shared<T>(work: () => T): T {
  return scopes.run(undefined, work);
}

const bound = new WeakMap<Sql, Sql>();

/**
 * `sql` as the current request's: every query made through it is cancelled if the request ends
 * before it. Outside a request, `sql` itself. Rejects at once if the request has ended already.
 */
export function requestSql(sql: Sql): Sql {
  const scope = scopes.getStore();
  if (!scope) return sql;
  if (scope.closed) throw unavailable('the request ended before its query ran');
  let tracking = bound.get(sql);
  if (!tracking) {
    tracking = new Proxy(sql, {
      apply(target, thisArg, args: unknown[]) {
        const result: unknown = Reflect.apply(target, thisArg, args);
        const current = scopes.getStore();
        if (current && !current.closed && isQuery(result)) current.queries.add(result);
        return result;
      },
    });
    bound.set(sql, tracking);
  }
  return tracking;
}
