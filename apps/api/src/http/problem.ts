import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An RFC 9457 problem; extension members (e.g. `parameter`) sit beside the standard ones. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  [extension: string]: unknown;
}

export const PROBLEM_TYPES = {
  invalidParameter: 'https://telemetrypulse.io/problems/invalid-parameter',
  invalidBody: 'https://telemetrypulse.io/problems/invalid-body',
  invalidEvent: 'https://telemetrypulse.io/problems/invalid-event',
  methodNotAllowed: 'https://telemetrypulse.io/problems/method-not-allowed',
  unsupportedMediaType: 'https://telemetrypulse.io/problems/unsupported-media-type',
  bodyTooLarge: 'https://telemetrypulse.io/problems/body-too-large',
  unauthorized: 'https://telemetrypulse.io/problems/unauthorized',
  forbidden: 'https://telemetrypulse.io/problems/forbidden',
  notFound: 'https://telemetrypulse.io/problems/not-found',
  conflict: 'https://telemetrypulse.io/problems/conflict',
  unavailable: 'https://telemetrypulse.io/problems/unavailable',
  tooManyRequests: 'https://telemetrypulse.io/problems/too-many-requests',
  timeout: 'https://telemetrypulse.io/problems/timeout',
} as const;

export type ParameterLocation = 'query' | 'path';

/** A problem that is only the HTTP status: RFC 9457 says type about:blank, title the status text. */
export function httpProblem(status: number, detail?: string): Problem {
  const problem: Problem = { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status };
  if (detail !== undefined) problem.detail = detail;
  return problem;
}

/** Thrown by handlers and validators; the error handler sends its problem as it is. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.problem = problem;
  }
}

export function invalidParameter(
  parameter: string,
  detail: string,
  location: ParameterLocation = 'query',
): ProblemError {
  return new ProblemError({
    type: PROBLEM_TYPES.invalidParameter,
    title: `Invalid ${location} parameter`,
    status: 400,
    detail,
    parameter,
  });
}

/** A body the route does not take; `pointer`, when known, is the JSON pointer of the culprit. */
export function invalidInput(detail: string, pointer?: string): ProblemError {
  const problem: Problem = {
    type: PROBLEM_TYPES.invalidBody,
    title: 'Invalid request body',
    status: 400,
    detail,
  };
  if (pointer !== undefined) problem.pointer = pointer;
  return new ProblemError(problem);
}

export function unauthorized(detail: string): ProblemError {
  return new ProblemError({
    type: PROBLEM_TYPES.unauthorized,
    title: 'Unauthorized',
    status: 401,
    detail,
  });
}

export function notFound(detail: string): ProblemError {
  return new ProblemError({
    type: PROBLEM_TYPES.notFound,
    title: 'Not found',
    status: 404,
    detail,
  });
}

export function conflict(detail: string): ProblemError {
  return new ProblemError({ type: PROBLEM_TYPES.conflict, title: 'Conflict', status: 409, detail });
}

export function unavailable(detail: string): ProblemError {
  return new ProblemError({
    type: PROBLEM_TYPES.unavailable,
    title: 'Service Unavailable',
    status: 503,
    detail,
  });
}

export function unsupportedMediaType(detail: string): ProblemError {
  return new ProblemError({
    type: PROBLEM_TYPES.unsupportedMediaType,
    title: 'Unsupported Media Type',
    status: 415,
    detail,
  });
}

/** Errors from express and body parsers carry their status, and say whether the message is safe. */
function statusOf(error: unknown): number {
  if (typeof error !== 'object' || error === null) return 500;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  return typeof code === 'number' && code >= 400 && code <= 599 ? code : 500;
}

/**
 * A value PostgreSQL refused as data (SQLSTATE class 22: a NUL in text, a date out of range, a
 * number too large): whatever check let it through, it came from the request, so it is a 400.
 */
function isDataException(error: unknown): error is Error & { code: string } {
  if (!(error instanceof Error) || error.name !== 'PostgresError') return false;
  const { code } = error as { code?: unknown };
  return typeof code === 'string' && code.startsWith('22');
}

/** body-parser's errors, by their `type`, as the problems this API documents. */
function bodyProblem(error: {
  type?: unknown;
  limit?: unknown;
  message: string;
}): Problem | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return invalidInput(`the body is not valid JSON: ${error.message}`).problem;
    case 'entity.too.large':
      return {
        type: PROBLEM_TYPES.bodyTooLarge,
        title: 'Content Too Large',
        status: 413,
        detail: `the body is larger than ${String(error.limit)} bytes`,
      };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return unsupportedMediaType(error.message).problem;
    default:
      return undefined;
  }
}

/** Turns anything thrown into the problem the client sees; 5xx never reveal internals. */
export function toProblem(error: unknown): Problem {
  if (error instanceof ProblemError) return error.problem;
  if (isDataException(error)) {
    return invalidInput(`a value in the request is not valid (SQLSTATE ${error.code})`).problem;
  }
  const status = statusOf(error);
  if (status >= 500) return httpProblem(status);
  if (error instanceof Error) {
    const fromBody = bodyProblem(error);
    if (fromBody) return fromBody;
  }
  const exposed = (error as { expose?: unknown }).expose !== false && error instanceof Error;
  return httpProblem(status, exposed ? error.message : undefined);
}

export function sendProblem(res: Response, problem: Problem): void {
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).json(problem);
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, {
    ...httpProblem(404, `no route for ${req.method} ${req.path}`),
    request_id: req.id,
  });
};

/**
 * For a path that exists, any method it does not have: 405 naming the ones it has in `Allow`
 * (HEAD with GET, and OPTIONS, which express's router answers with that list itself).
 */
export function methodNotAllowed(methods: readonly string[]): RequestHandler {
  const upper = methods.map((m) => m.toUpperCase());
  if (upper.includes('GET') && !upper.includes('HEAD')) upper.push('HEAD');
  const allow = [...upper, 'OPTIONS'].join(', ');
  return (req, res) => {
    res.setHeader('Allow', allow);
    sendProblem(res, {
      type: PROBLEM_TYPES.methodNotAllowed,
      title: 'Method Not Allowed',
      status: 405,
      detail: `${req.path} does not take ${req.method}; it takes ${upper.join(', ')}`,
      request_id: req.id,
    });
  };
}

/** The one place errors become responses; the request's logger records what 5xx hide. */
export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
  const problem = toProblem(error);
  if (problem.status >= 500) req.log.error({ err: error }, 'request failed');
  else if (isDataException(error)) req.log.info({ err: error }, 'the database refused a value');
  if (res.headersSent) {
    // Already answered (e.g. by the request timeout): nothing left to say.
    if (res.writableEnded) return;
    // Too late for a problem body; express's final handler aborts the connection.
    next(error);
    return;
  }
  sendProblem(res, { ...problem, request_id: req.id });
};
