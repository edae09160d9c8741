import { Type } from '@sinclair/typebox';
import type { Response } from 'express';
import { isDatabaseReachable, isShuttingDown, type Sql } from '@telemetrypulse/shared';
import type { ApiRouter } from '../http/route.ts';
import { warmUp, type EventPublisher } from '../ingest/publisher.ts';
import { StringEnum } from '../schemas.ts';

export interface HealthRoutesOptions {
  sql: Sql;
  /** How long readiness waits for the database before it says "not ready". */
  readinessTimeoutMs: number;
  publisher: EventPublisher | undefined;
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

const Ok = Type.Object({ status: Type.Literal('ok') });
const Check = StringEnum(['up', 'down', 'disabled'] as const);
const Readiness = Type.Object({
  status: StringEnum(['ready', 'not ready'] as const),
  checks: Type.Object({ database: Check, kafka: Check }),
  reason: Type.Optional(
    Type.Literal('shutting down', {
      description: 'set from SIGTERM on: the pod drains and takes no new work',
    }),
  ),
});

export function healthRoutes(api: ApiRouter, options: HealthRoutesOptions): void {
  const { sql, readinessTimeoutMs, publisher } = options;

  async function checks() {
    const database = await within(isDatabaseReachable(sql), readinessTimeoutMs, false);
    const kafka = publisher === undefined ? 'disabled' : publisher.isReady() ? 'up' : 'down';
    // A probe is a good moment to try Kafka again; it never waits for the outcome.
    if (publisher && kafka === 'down') warmUp(publisher);
    return { database: database ? 'up' : 'down', kafka } as const;
  }

  // From SIGTERM on every readiness path says no: Services and the Ingress stop sending while
  // in-flight requests finish.
  function answer(res: Response, ready: boolean, state: Awaited<ReturnType<typeof checks>>) {
    const stopping = isShuttingDown();
    const ok = ready && !stopping;
    res.status(ok ? 200 : 503).json({
      status: ok ? 'ready' : 'not ready',
      checks: state,
      ...(stopping && { reason: 'shutting down' as const }),
    });
  }

  // /livez and /readyz as every app of the platform serves them (the chart's probes use them),
  // and the original system's paths and bodies for its clients. Liveness never touches the
  // database, so a database outage makes pods unready instead of restarting them.
  const liveness = { '/livez': 'livez', '/health': 'health', '/health/live': 'liveness' };
  for (const [path, operationId] of Object.entries(liveness)) {
    api.route(
      {
        method: 'get',
        path,
        operationId,
        summary: 'Liveness: the process answers',
        tags: ['health'],
        access: 'public',
        responses: { 200: { description: 'alive', schema: Ok } },
      },
      (_input, _req, res) => {
        res.json({ status: 'ok' });
      },
    );
  }

  // Reads need only the database: a Kafka outage must not take dashboards down with it, so it
  // shows in the body, and ingest answers 503 by itself.
  for (const [path, operationId] of Object.entries({
    '/readyz': 'readyz',
    '/health/ready': 'readiness',
  })) {
    api.route(
      {
        method: 'get',
        path,
        operationId,
        summary:
          'Readiness: 503 while the database is unreachable or the process shuts down; Kafka is reported',
        tags: ['health'],
        access: 'public',
        responses: {
          200: { description: 'ready', schema: Readiness },
          503: { description: 'not ready', schema: Readiness },
        },
      },
      async (_input, req, res) => {
        const state = await checks();
        const ready = state.database === 'up';
        if (!ready) req.log.warn(state, 'not ready');
        answer(res, ready, state);
      },
    );
  }

  api.route(
    {
      method: 'get',
      path: '/health/ready/ingest',
      operationId: 'ingestReadiness',
      summary: 'Readiness for ingest: 503 unless both the database and Kafka are up',
      tags: ['health'],
      access: 'public',
      responses: {
        200: { description: 'ready', schema: Readiness },
        503: { description: 'not ready', schema: Readiness },
      },
    },
    async (_input, _req, res) => {
      const state = await checks();
      answer(res, state.database === 'up' && state.kafka === 'up', state);
    },
  );
}
