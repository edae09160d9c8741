import cors from 'cors';
import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { PROBLEM_TYPES, sendProblem } from './problem.ts';

export interface SecurityOptions {
  /** Origins allowed by CORS; '*' any; empty: no CORS headers at all. */
  corsOrigins: readonly string[] | '*';
  /** Requests per client and minute; 0 turns the limit off. */
  rateLimitPerMinute: number;
}

/** Probes and scrapes come every few seconds from the cluster; they are never limited. */
const isOpsPath = (path: string) => path === '/metrics' || path.startsWith('/health');

export function securityHeaders(): RequestHandler {
  return helmet({
    // The docs page loads swagger-ui's script and styles from this origin only.
    contentSecurityPolicy: {
      directives: { 'img-src': ["'self'", 'data:'], 'upgrade-insecure-requests': null },
    },
  });
}

export function corsPolicy(origins: SecurityOptions['corsOrigins']): RequestHandler | undefined {
  if (origins !== '*' && origins.length === 0) return undefined;
  return cors({
    origin: origins === '*' ? '*' : [...origins],
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-API-Key', 'X-Request-Id', 'Last-Event-ID'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit', 'RateLimit-Policy'],
    maxAge: 600,
  });
}

export function rateLimiter(perMinute: number): RequestHandler | undefined {
  if (perMinute === 0) return undefined;
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (req) => isOpsPath(req.path),
    handler: (req, res, _next, options) => {
      res.setHeader('Retry-After', String(Math.ceil(options.windowMs / 1000)));
      sendProblem(res, {
        type: PROBLEM_TYPES.tooManyRequests,
        title: 'Too Many Requests',
        status: 429,
        detail: `at most ${perMinute} requests per minute`,
        request_id: req.id,
      });
    },
  });
}

/**
 * Answers 503 when a request outlives `ms` (a slow query, a stuck dependency), so callers and
 * the ingress are not left hanging. Streams that are meant to stay open are exempt.
 */
export function requestTimeout(ms: number, exempt: (path: string) => boolean): RequestHandler {
  return (req, res, next) => {
    if (exempt(req.path)) {
      next();
      return;
    }
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      req.log.warn({ timeout_ms: ms }, 'request timed out');
      sendProblem(res, {
        type: PROBLEM_TYPES.timeout,
        title: 'Service Unavailable',
        status: 503,
        detail: `the request took longer than ${ms} ms`,
        request_id: req.id,
      });
    }, ms);
    res.once('close', () => {
      clearTimeout(timer);
    });
    next();
  };
}
