import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { methodNotAllowed } from '../http/problem.ts';
import type { OpenApiDocument } from '../openapi.ts';

/** The OpenAPI document at a stable path, and swagger-ui reading it at /docs. */
export function docsRoutes(document: () => OpenApiDocument): Router {
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(document());
  });
  router.all('/openapi.json', methodNotAllowed(['get']));
  router.use(
    '/docs',
    swaggerUi.serve,
    swaggerUi.setup(undefined, { swaggerOptions: { url: '../openapi.json' } }),
  );
  return router;
}
