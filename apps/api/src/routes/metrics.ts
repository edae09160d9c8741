import { Router } from 'express';
import type { Registry } from 'prom-client';
import { methodNotAllowed } from '../http/problem.ts';

export function metricsRoutes(registry: Registry): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    const body = await registry.metrics();
    res.type(registry.contentType).send(body);
  });
  router.all('/metrics', methodNotAllowed(['get']));
  return router;
}
