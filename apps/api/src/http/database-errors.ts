import type { ErrorRequestHandler } from 'express';
import { unavailable } from './problem.ts';

/** How soon a client may try again after its query was cancelled. */
export const QUERY_CANCELED_RETRY_AFTER_SECONDS = 5;

/** SQLSTATE 57014: statement_timeout (API_STATEMENT_TIMEOUT_MS) or a cancel request. */
export function isQueryCanceled(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '57014'
  );
}

/**
 * A query PostgreSQL cancelled is the server being busy, not a fault of the request: 503 with
 * Retry-After instead of a 500. Register it before the problem error handler.
 */
export const queryCanceledHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
  if (!isQueryCanceled(error)) {
    next(error);
    return;
  }
  req.log.warn({ err: error }, 'query cancelled (statement timeout, or the request ended)');
  if (!res.headersSent) res.setHeader('Retry-After', String(QUERY_CANCELED_RETRY_AFTER_SECONDS));
  next(unavailable('the database took too long to answer; retry later'));
};
