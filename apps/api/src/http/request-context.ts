import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '@telemetrypulse/shared';
import { isOpsPath } from './ops-paths.ts';
import { trackRequestQueries } from './query-scope.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- how express request types are extended
  namespace Express {
    interface Request {
      /** The request id, from `x-request-id` or generated; echoed in the response. */
      id: string;
      /** A child logger whose lines carry the request id. */
      log: Logger;
    }
  }
}

export const REQUEST_ID_HEADER = 'x-request-id';

// A caller's id goes into logs and headers verbatim, so only plain tokens are trusted.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SAFE_REQUEST_ID.test(header) ? header : randomUUID();
}

export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    req.id = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    req.log = logger.child({ request_id: req.id });
    res.setHeader(REQUEST_ID_HEADER, req.id);
    res.once('close', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const level = isOpsPath(req.path) ? 'debug' : 'info';
      req.log[level](
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          duration_ms: Math.round(durationMs * 10) / 10,
          aborted: !res.writableFinished,
        },
        'request completed',
      );
    });
    // The request's queries are cancelled if it ends first (timeout, client gone).
    trackRequestQueries(res, req.log, next);
  };
}
