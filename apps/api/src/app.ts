import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import type { Logger, Sql } from '@telemetrypulse/shared';
import { httpMetrics } from './metrics.ts';
import { errorHandler, notFoundHandler } from './problem.ts';
import { requestContext } from './request-context.ts';
import { healthRoutes } from './routes/health.ts';
import { kpisRoutes } from './routes/kpis.ts';
import { metricsRoutes } from './routes/metrics.ts';

export interface AppOptions {
  sql: Sql;
  /** Gets this app's HTTP metrics; use one registry per app. */
  registry: Registry;
  logger: Logger;
  /** Default 800 ms. */
  readinessTimeoutMs?: number;
  /** How far back `/kpis/live` looks; default one hour. */
  liveLookbackMs?: number;
  /** The clock for "recent"; tests pin it. */
  now?: () => number;
}

/** Builds the API without listening, so tests can run it on a free port and close it. */
export function createApp(options: AppOptions): Express {
  const { sql, registry, logger } = options;
  const now = options.now ?? Date.now;
  const app = express();

  // External middleware and express settings.
  app.disable('x-powered-by');

  // The app's own plugins: every later layer can rely on req.id, req.log and the metrics.
  app.use(requestContext(logger));
  app.use(httpMetrics(registry));

  // Routes.
  app.use(healthRoutes({ sql, readinessTimeoutMs: options.readinessTimeoutMs ?? 800 }));
  app.use(metricsRoutes(registry));
  app.use(kpisRoutes({ sql, lookbackMs: options.liveLookbackMs ?? 3_600_000, now }));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
