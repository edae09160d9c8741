import { createHash } from 'node:crypto';
import cors from 'cors';
import type { Request, RequestHandler } from 'express';
import { rateLimit, type AugmentedRequest, type Options, type Store } from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from '@telemetrypulse/shared';
import { credentialFrom } from './auth.ts';
import { isOpsPath } from './ops-paths.ts';
import { PROBLEM_TYPES, sendProblem } from './problem.ts';

export interface SecurityOptions {
  /** Origins allowed by CORS; '*' any; empty: no CORS headers at all. */
  corsOrigins: readonly string[] | '*';
  /** Requests per client IP and minute, with or without a key; 0 turns the IP limit off. */
  rateLimitPerMinute: number;
  /** Requests per API key and minute, from any IP; 0 turns the key limit off. */
  rateLimitPerKeyPerMinute: number;
  /**
   * Where the counts are kept: a store shared by all replicas (PostgresRateLimitStore), or
   * absent for one in this process only. The key limit keeps its counts apart by a prefix.
   */
  rateLimitStore?: Store | undefined;
}

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

const WINDOW_MS = 60_000;

/**
 * The same store under another key space, so the IP and the key limit can share one (the
 * PostgreSQL table). Both limiters have the same window: init is passed on only when the IP
 * limiter, which inits the store itself, is off.
 */
function prefixedStore(store: Store, prefix: string, passInit: boolean): Store {
  return {
    localKeys: store.localKeys,
    ...(passInit && store.init ? { init: (options: Options) => store.init?.(options) } : {}),
    increment: (key) => store.increment(prefix + key),
    decrement: (key) => store.decrement(prefix + key),
    resetKey: (key) => store.resetKey(prefix + key),
    ...(store.get ? { get: (key: string) => store.get?.(prefix + key) } : {}),
  };
}

/** A digest, so the counters (in the database, in logs) never hold a key itself. */
const keyId = (credential: string) =>
  createHash('sha256').update(credential).digest('base64url').slice(0, 22);

interface Limit {
  /** Named in the RateLimit headers and the 429's detail. */
  name: 'ip' | 'key';
  perMinute: number;
  store: Store | undefined;
  /** Absent: express-rate-limit's own (the client IP, IPv6 by /56). */
  keyGenerator?: (req: Request) => string;
  skip?: (req: Request) => boolean;
  detail: string;
}

function limiter(limit: Limit, logger: Logger): RequestHandler {
  const property = limit.name === 'ip' ? 'rateLimit' : 'rateLimitKey';
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: limit.perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: limit.name,
    requestPropertyName: property,
    ...(limit.store ? { store: limit.store } : {}),
    ...(limit.keyGenerator ? { keyGenerator: limit.keyGenerator } : {}),
    // A limit that cannot be counted (database down) must not take ingest down with it.
    passOnStoreError: true,
    // X-Forwarded-For without trusted proxies is ignored on purpose (TRUST_PROXY_HOPS=0).
    validate: { xForwardedForHeader: false },
    logger: {
      error: (err, message) => {
        logger.warn({ err }, message);
      },
      warn: (err, message) => {
        logger.warn({ err }, message);
      },
    },
    skip: (req) => isOpsPath(req.path) || (limit.skip?.(req) ?? false),
    handler: (req, res) => {
      const resetTime = (req as AugmentedRequest)[property]?.resetTime;
      const resetAt = resetTime?.getTime() ?? Date.now() + WINDOW_MS;
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil((resetAt - Date.now()) / 1000))));
      sendProblem(res, {
        type: PROBLEM_TYPES.tooManyRequests,
        title: 'Too Many Requests',
        status: 429,
        detail: limit.detail,
        limit: limit.name,
        request_id: req.id,
      });
    },
  });
}

/**
 * Every request counts against its client IP's limit (the connecting address, or the one the
 * trusted proxies name); one with an API key also against that key's, whatever IP it comes
 * from. Which key it is does not matter here: an unknown key is refused later, but counted.
 */
export function rateLimiters(options: SecurityOptions, logger: Logger): RequestHandler[] {
  const { rateLimitPerMinute: perIp, rateLimitPerKeyPerMinute: perKey, rateLimitStore } = options;
  const handlers: RequestHandler[] = [];
  if (perIp > 0) {
    handlers.push(
      limiter(
        {
          name: 'ip',
          perMinute: perIp,
          store: rateLimitStore,
          detail: `at most ${perIp} requests per minute from one client address`,
        },
        logger,
      ),
    );
  }
  if (perKey > 0) {
    handlers.push(
      limiter(
        {
          name: 'key',
          perMinute: perKey,
          store: rateLimitStore && prefixedStore(rateLimitStore, 'key:', perIp === 0),
          keyGenerator: (req) => keyId(credentialFrom(req.headers) ?? ''),
          skip: (req) => credentialFrom(req.headers) === undefined,
          detail: `at most ${perKey} requests per minute with one API key`,
        },
        logger,
      ),
    );
  }
  return handlers;
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
      // A timeout is load, not a fault of the request: the caller may try again shortly.
      res.setHeader('Retry-After', '5');
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
