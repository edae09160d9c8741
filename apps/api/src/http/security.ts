import cors from 'cors';
import type { RequestHandler } from 'express';
import { rateLimit, type AugmentedRequest, type Store } from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from '@telemetrypulse/shared';
import { PROBLEM_TYPES, sendProblem } from './problem.ts';

export interface SecurityOptions {
  /** Origins allowed by CORS; '*' any; empty: no CORS headers at all. */
  corsOrigins: readonly string[] | '*';
  /** Requests per client and minute; 0 turns the limit off. */
  rateLimitPerMinute: number;
  /**
   * Where the counts are kept: a store shared by all replicas (PostgresRateLimitStore), or
   * absent for one in this process only.
   */
  rateLimitStore?: Store | undefined;
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

export function rateLimiter(
  { rateLimitPerMinute: perMinute, rateLimitStore: store }: SecurityOptions,
  logger: Logger,
): RequestHandler | undefined {
  if (perMinute === 0) return undefined;
  const windowMs = 60_000;
  return rateLimit({
    windowMs,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    ...(store ? { store } : {}),
    // A limit that cannot be counted (database down) must not take ingest down with it.
    passOnStoreError: true,
    logger: {
      error: (err, message) => {
        logger.warn({ err }, message);
      },
      warn: (err, message) => {
        logger.warn({ err }, message);
      },
    },
    skip: (req) => isOpsPath(req.path),
    handler: (req, res) => {
      const resetTime = (req as AugmentedRequest)['rateLimit']?.resetTime;
      const resetAt = resetTime?.getTime() ?? Date.now() + windowMs;
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil((resetAt - Date.now()) / 1000))));
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
