import { Router } from 'express';
import { isDatabaseReachable, type Sql } from '@telemetrypulse/shared';

export interface HealthRoutesOptions {
  sql: Sql;
  /** How long readiness waits for the database before it says "not ready". */
  readinessTimeoutMs: number;
}

/** Resolves to `fallback` when `promise` takes longer than `ms`; the timer never holds the process. */
export function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(resolve, ms, fallback);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

export function healthRoutes({ sql, readinessTimeoutMs }: HealthRoutesOptions): Router {
  const router = Router();

  // The original's paths and bodies; liveness never touches the database, so a database outage
  // makes pods unready instead of restarting them.
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (req, res) => {
    const reachable = await within(isDatabaseReachable(sql), readinessTimeoutMs, false);
    if (reachable) {
      res.json({ status: 'ready' });
      return;
    }
    req.log.warn('not ready: database unreachable');
    res.status(503).json({ status: 'not ready', reason: 'database unreachable' });
  });

  return router;
}
