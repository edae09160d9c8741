import { isStoredAlready } from './store-events.ts';

/**
 * What a failed store transaction means for the events in it:
 * - `transient`: the database could not do it now (connection lost, serialization failure or
 *   deadlock, cancelled or timed out, out of resources, shutting down, or an error we do not
 *   know): the same events are tried again later.
 * - `data`: the database refuses the data of some event (SQLSTATE class 22 data exception,
 *   class 23 integrity violation other than a redelivered copy): that event is found and
 *   dead-lettered, even when it is alone.
 * - `statement`: the database refuses the statement (class 42 syntax or access, 54 a limit,
 *   P0 an error raised by a PL/pgSQL trigger). Usually that is the schema or a privilege, not
 *   the data, so an event is blamed only once other events of its group were stored by the same
 *   statement; otherwise the group is retried, as for a transient error.
 */
export type StoreFailure = 'transient' | 'data' | 'statement';

/** The SQLSTATE of a PostgreSQL server error; undefined for client and connection errors. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, code } = error as { name?: unknown; code?: unknown };
  if (name !== 'PostgresError' || typeof code !== 'string') return undefined;
  return /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

const DATA_CLASSES = new Set(['22', '23']);
const STATEMENT_CLASSES = new Set(['42', '54', 'P0']);

export function classifyStoreError(error: unknown): StoreFailure {
  const state = sqlState(error);
  // postgres.js's own errors (CONNECTION_CLOSED, CONNECT_TIMEOUT, …) and socket errors have no
  // SQLSTATE: the connection, not the data. A copy stored before is the store's own concern.
  if (state === undefined || isStoredAlready(error)) return 'transient';
  const errorClass = state.slice(0, 2);
  if (DATA_CLASSES.has(errorClass)) return 'data';
  if (STATEMENT_CLASSES.has(errorClass)) return 'statement';
  return 'transient';
}

const MAX_REASON_CHARS = 1000;

/** The reason a dead letter gives for an event the database refused. */
export function refusalReason(error: unknown): string {
  const state = sqlState(error) ?? 'unknown';
  const message = error instanceof Error ? error.message : String(error);
  return `database refused the event (SQLSTATE ${state}): ${message}`.slice(0, MAX_REASON_CHARS);
}
