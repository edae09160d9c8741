import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { DEFAULT_LIMITS, schemaDefault, type Logger, type Sql } from '@telemetrypulse/shared';
import { ApiConfigSchema } from './config.ts';
import { createAuth, type AuthOptions } from './http/auth.ts';
import { queryCanceledHandler } from './http/database-errors.ts';
import { responseCompression } from './http/compression.ts';
import { errorHandler, notFoundHandler } from './http/problem.ts';
import { requestContext } from './http/request-context.ts';
import { httpMetrics, liveClientsGauge } from './http/request-metrics.ts';
import { createResponseCache } from './http/response-cache.ts';
import { apiRouter, RouteCatalog } from './http/route.ts';
import {
  corsPolicy,
  rateLimiters,
  requestTimeout,
  securityHeaders,
  type SecurityOptions,
} from './http/security.ts';
import type { EventPublisher } from './ingest/publisher.ts';
import type { LiveHub } from './live/hub.ts';
import { buildOpenApi, type OpenApiDocument } from './openapi.ts';
import { alertRoutes } from './routes/alerts.ts';
import { compatRoutes } from './routes/compat.ts';
import { deviceRoutes } from './routes/devices.ts';
import { docsRoutes } from './routes/docs.ts';
import { healthRoutes } from './routes/health.ts';
import { ingestRoutes } from './routes/ingest.ts';
import { liveRoutes } from './routes/live.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { seriesRoutes } from './routes/series.ts';
import { siteRoutes } from './routes/sites.ts';

export const API_VERSION = '1.0.0';

export interface AppOptions {
  sql: Sql;
  /** Gets this app's HTTP and live-stream metrics; use one registry per app. */
  registry: Registry;
  logger: Logger;
  /** Where ingest publishes; without it ingest answers 503. */
  publisher?: EventPublisher;
  /** Feeds GET /api/v1/live; without it the stream answers 503. */
  live?: LiveHub;
  /** Default LIVE_HEARTBEAT_MS's. */
  liveHeartbeatMs?: number;
  /** Default LIVE_MAX_CLIENTS's. */
  liveMaxClients?: number;
  /** How far back a reconnecting live client is sent what it missed; default LIVE_REPLAY_MINUTES's. */
  liveReplayMs?: number;
  /** Default: no keys (writes refused), reads open. */
  auth?: Partial<AuthOptions>;
  /**
   * Default: no CORS, rate limiting off (main turns it on from config); with the IP limit on,
   * the key limit defaults to RATE_LIMIT_PER_KEY_PER_MINUTE's default.
   */
  security?: Partial<SecurityOptions>;
  /** Default BODY_LIMIT_BYTES's. */
  bodyLimitBytes?: number;
  /**
   * Compress answers for clients that take it (cached views gzipped once per refresh, the rest
   * by the compression middleware; never the live stream); default RESPONSE_COMPRESSION's.
   */
  responseCompression?: boolean;
  /** Default REQUEST_TIMEOUT_MS's. */
  requestTimeoutMs?: number;
  /** Proxies in front whose X-Forwarded-For is trusted (ingress); default 0. */
  trustProxyHops?: number;
  /** Default READINESS_TIMEOUT_MS's. */
  readinessTimeoutMs?: number;
  /** Readiness's own connection (a pool busy with slow reads is not "not ready"); default sql. */
  readinessSql?: Sql;
  /** How far back `/kpis/live` looks; default KPIS_LIVE_LOOKBACK_MINUTES's. */
  liveLookbackMs?: number;
  /** Retry-After of a 503 from ingest; default INGEST_RETRY_AFTER_SECONDS's. */
  ingestRetryAfterSeconds?: number;
  /**
   * How long polled views (KPIs, trends, series, heatmap, alert pages, sites, devices) are
   * cached; default 0 (off).
   */
  readCacheTtlMs?: number;
  /** How long series of 1h and 1d buckets are cached, if longer than readCacheTtlMs; default: as long. */
  readCacheCoarseTtlMs?: number;
  /** The clock for "recent"; tests pin it. */
  now?: () => number;
}

export interface Api {
  app: Express;
  openApi: OpenApiDocument;
}

const isStream = (path: string) => path === '/api/v1/live';
/** An option left out takes its variable's default from the config schema. */
const fallback = <K extends keyof typeof ApiConfigSchema.properties>(name: K) =>
  schemaDefault(ApiConfigSchema, name);

/** Builds the API without listening, so tests can run it on a free port and close it. */
export function createApi(options: AppOptions): Api {
  const { sql, registry, logger, publisher } = options;
  const now = options.now ?? Date.now;
  const rateLimitPerMinute = options.security?.rateLimitPerMinute ?? 0;
  const security: SecurityOptions = {
    corsOrigins: options.security?.corsOrigins ?? [],
    rateLimitPerMinute,
    // Unless given, the key limit takes its default whenever the IP limit is on.
    rateLimitPerKeyPerMinute:
      options.security?.rateLimitPerKeyPerMinute ??
      (rateLimitPerMinute > 0 ? fallback('RATE_LIMIT_PER_KEY_PER_MINUTE') : 0),
    rateLimitStore: options.security?.rateLimitStore,
  };
  const app = express();

  // Express settings.
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxyHops ?? 0);

  // The app's own context first, so every later layer (and every problem) has req.id and req.log.
  app.use(requestContext(logger));
  app.use(httpMetrics(registry));
  liveClientsGauge(registry, () => options.live?.clients() ?? 0);

  // External middleware: security headers, compression, CORS, rate limit, body size, timeout.
  app.use(securityHeaders());
  const compress = options.responseCompression ?? fallback('RESPONSE_COMPRESSION') === 'on';
  if (compress) app.use(responseCompression());
  const corsHandler = corsPolicy(security.corsOrigins);
  if (corsHandler) app.use(corsHandler);
  for (const limiter of rateLimiters(security, logger)) app.use(limiter);
  app.use(express.json({ limit: options.bodyLimitBytes ?? fallback('BODY_LIMIT_BYTES') }));
  app.use(requestTimeout(options.requestTimeoutMs ?? fallback('REQUEST_TIMEOUT_MS'), isStream));

  // Routes, each described once for validation and the OpenAPI document.
  // A warm view never waits for the database: it is served up to one TTL stale while refreshed.
  const cacheTtlMs = options.readCacheTtlMs ?? 0;
  const cache = createResponseCache({
    ttlMs: cacheTtlMs,
    staleMs: cacheTtlMs,
    gzip: compress,
    now,
  });
  const catalog = new RouteCatalog();
  const api = apiRouter(
    catalog,
    createAuth({ writeKeys: [], readKeys: [], readAuth: 'open', ...options.auth }),
  );
  healthRoutes(api, {
    sql: options.readinessSql ?? sql,
    readinessTimeoutMs: options.readinessTimeoutMs ?? fallback('READINESS_TIMEOUT_MS'),
    publisher,
  });
  compatRoutes(api, {
    sql,
    now,
    liveLookbackMs: options.liveLookbackMs ?? fallback('KPIS_LIVE_LOOKBACK_MINUTES') * 60_000,
    // Raw events older than the retention are gone anyway.
    deviceLookbackMs: DEFAULT_LIMITS.maxAgeMs,
    cache,
  });
  siteRoutes(api, { sql, now, cache });
  deviceRoutes(api, { sql, now, cache, lookbackMs: DEFAULT_LIMITS.maxAgeMs });
  seriesRoutes(api, { sql, now, cache, coarseTtlMs: options.readCacheCoarseTtlMs ?? cacheTtlMs });
  alertRoutes(api, { sql, cache });
  liveRoutes(api, {
    sql,
    now,
    replayMs: options.liveReplayMs ?? fallback('LIVE_REPLAY_MINUTES') * 60_000,
    hub: options.live,
    heartbeatMs: options.liveHeartbeatMs ?? fallback('LIVE_HEARTBEAT_MS'),
    maxClients: options.liveMaxClients ?? fallback('LIVE_MAX_CLIENTS'),
  });
  ingestRoutes(api, {
    publisher,
    now,
    retryAfterSeconds: options.ingestRetryAfterSeconds ?? fallback('INGEST_RETRY_AFTER_SECONDS'),
  });

  const openApi = buildOpenApi(catalog.routes, API_VERSION);
  app.use(metricsRoutes(registry));
  app.use(docsRoutes(() => openApi));
  app.use(api.router);
  app.use(api.otherMethods());

  app.use(notFoundHandler);
  app.use(queryCanceledHandler);
  app.use(errorHandler);
  return { app, openApi };
}

/** The express app alone, for callers that do not need the document. */
export function createApp(options: AppOptions): Express {
  return createApi(options).app;
}
