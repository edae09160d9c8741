import type { Request, RequestHandler } from 'express';
import { Gauge, Histogram, type Registry } from 'prom-client';

// Unmatched paths share one label value, so scanners cannot blow up the series count.
export const UNMATCHED_ROUTE = '<unmatched>';

/** The route template (`/kpis/live`), never the raw path with its ids. */
export function routeLabel(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? req.baseUrl + route.path : UNMATCHED_ROUTE;
}

/** Request duration and in-flight count; register once per registry. */
export function httpMetrics(registry: Registry): RequestHandler {
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests being served',
    registers: [registry],
  });

  return (req, res, next) => {
    inFlight.inc();
    const stopTimer = duration.startTimer();
    // 'close' also fires when the client goes away before the response ends.
    res.once('close', () => {
      inFlight.dec();
      stopTimer({
        method: req.method,
        route: routeLabel(req),
        status_code: String(res.statusCode),
      });
    });
    next();
  };
}

/**
 * Open live (SSE) streams of this process, read at scrape time. Every replica exports it, even
 * at 0, so dashboards and rules tell API targets apart by it (`and on (job, instance)`).
 */
export function liveClientsGauge(registry: Registry, clients: () => number): void {
  new Gauge({
    name: 'telemetry_api_sse_clients',
    help: 'Live (Server-Sent Events) streams open on this API process',
    registers: [registry],
    collect() {
      this.set(clients());
    },
  });
}
