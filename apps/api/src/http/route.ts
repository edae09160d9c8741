import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Access } from './auth.ts';
import { invalidInput, methodNotAllowed, unsupportedMediaType } from './problem.ts';
import { bodyParser, queryParser } from './query-params.ts';

export interface ResponseSpec {
  description: string;
  /** Absent: no JSON body (e.g. an event stream, described by contentType). */
  schema?: TSchema;
  contentType?: string;
  headers?: Record<string, { description: string; schema: TSchema }>;
}

/**
 * One route, described once: the same schemas validate its input and make its OpenAPI operation.
 * `path` is OpenAPI style (`/devices/{device_id}`).
 */
export interface RouteSpec<
  Q extends TObject = TObject,
  P extends TObject = TObject,
  B extends TSchema = TSchema,
> {
  method: 'get' | 'post';
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  access: Access;
  query?: Q;
  params?: P;
  body?: B;
  /** The handler validates the body itself (ingest runs the event contract for its reasons). */
  bodyCheckedByHandler?: boolean;
  responses: Record<number, ResponseSpec>;
}

export interface RouteInput<Q extends TObject, P extends TObject, B extends TSchema> {
  query: Static<Q>;
  params: Static<P>;
  body: Static<B>;
}

export type RouteHandler<Q extends TObject, P extends TObject, B extends TSchema> = (
  input: RouteInput<Q, P, B>,
  req: Request,
  res: Response,
) => Promise<void> | void;

/** Collects every route's spec; the OpenAPI document is built from it. */
export class RouteCatalog {
  readonly routes: RouteSpec[] = [];
}

export interface ApiRouter {
  router: Router;
  route<Q extends TObject, P extends TObject, B extends TSchema>(
    spec: RouteSpec<Q, P, B>,
    handler: RouteHandler<Q, P, B>,
  ): void;
  /**
   * 405 (with `Allow`) for the methods a known path does not have; mounted after every route,
   * so each path's own methods are matched first.
   */
  otherMethods(): Router;
}

const EMPTY = Type.Object({});

/**
 * A route with a body takes JSON only: another media type is a 415, no body at all a 400 (the
 * JSON parser leaves both as an undefined body, which would read as a wrong shape).
 */
function requireJson(req: Request): void {
  if (req.is('application/json')) return;
  const length = req.get('content-length');
  const empty = !req.get('transfer-encoding') && (length === undefined || Number(length) === 0);
  if (empty) throw invalidInput('a JSON body is required');
  throw unsupportedMediaType(
    `the body must be application/json, not ${req.get('content-type') ?? 'untyped'}`,
  );
}

/** `/devices/{device_id}` → `/devices/:device_id`. */
export function expressPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

export function apiRouter(
  catalog: RouteCatalog,
  guard: (access: Access) => RequestHandler,
): ApiRouter {
  const router = Router();
  function route<Q extends TObject, P extends TObject, B extends TSchema>(
    spec: RouteSpec<Q, P, B>,
    handler: RouteHandler<Q, P, B>,
  ): void {
    catalog.routes.push(spec);
    const parseQuery = queryParser(spec.query ?? EMPTY);
    const parseParams = queryParser(spec.params ?? EMPTY, 'path');
    const parseBody = spec.body && !spec.bodyCheckedByHandler ? bodyParser(spec.body) : undefined;
    const run: RequestHandler = async (req, res) => {
      if (spec.body) requireJson(req);
      const input = {
        query: parseQuery(req.query),
        params: parseParams(req.params),
        body: parseBody ? parseBody(req.body) : (req.body as unknown),
      } as RouteInput<Q, P, B>;
      await handler(input, req, res);
    };
    router[spec.method](expressPath(spec.path), guard(spec.access), run);
  }
  function otherMethods(): Router {
    const fallback = Router();
    const methods = new Map<string, string[]>();
    for (const spec of catalog.routes) {
      methods.set(spec.path, [...(methods.get(spec.path) ?? []), spec.method]);
    }
    for (const [path, allowed] of methods) {
      fallback.all(expressPath(path), methodNotAllowed(allowed));
    }
    return fallback;
  }
  return { router, route, otherMethods };
}
