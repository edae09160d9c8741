import type { TObject, TSchema } from '@sinclair/typebox';
import { PROBLEM_CONTENT_TYPE } from './http/problem.ts';
import type { RouteSpec } from './http/route.ts';
import { ProblemSchema } from './schemas.ts';

export type OpenApiDocument = Record<string, unknown> & {
  paths: Record<string, Record<string, Operation>>;
};

interface Operation {
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  [key: string]: unknown;
}

// TypeBox schemas carry symbol keys; JSON keeps only what a JSON Schema reader sees.
const plain = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema)) as unknown;
const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

function parameters(schema: TObject | undefined, location: 'query' | 'path'): unknown[] {
  if (!schema) return [];
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, property]) => {
    const { description, ...rest } = plain(property) as { description?: string; default?: unknown };
    // TypeBox lists a property with a default as required; a client may leave it out.
    const hasDefault = rest.default !== undefined;
    return {
      name,
      in: location,
      required: location === 'path' || (required.has(name) && !hasDefault),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
}

const RATE_LIMITED_HEADERS = {
  'Retry-After': {
    description: 'seconds until the spent limit starts a new window',
    schema: { type: 'integer', minimum: 1 },
  },
  RateLimit: {
    description: 'what is left of each limit, by name ("ip", "key"), and when it resets',
    schema: { type: 'string' },
  },
  'RateLimit-Policy': {
    description: 'each limit by name: requests (q) per window of seconds (w)',
    schema: { type: 'string' },
  },
};

function problem(description: string) {
  return { description, content: { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_REF } } };
}

function operation(spec: RouteSpec): Operation {
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    const isError = Number(status) >= 400;
    const content = response.schema
      ? { [response.contentType ?? 'application/json']: { schema: plain(response.schema) } }
      : isError
        ? { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_REF } }
        : response.contentType
          ? { [response.contentType]: { schema: { type: 'string' } } }
          : undefined;
    const headers = response.headers
      ? Object.fromEntries(
          Object.entries(response.headers).map(([name, h]) => [
            name,
            { description: h.description, schema: plain(h.schema) },
          ]),
        )
      : undefined;
    responses[status] = {
      description: response.description,
      ...(content ? { content } : {}),
      ...(headers ? { headers } : {}),
    };
  }
  // Every route can answer these; listing them keeps the document honest about errors.
  const hasInput = spec.query ?? spec.params ?? spec.body;
  if (hasInput && !responses['400']) responses['400'] = problem('invalid input');
  if (spec.body) {
    responses['413'] ??= problem('the body is larger than BODY_LIMIT_BYTES');
    responses['415'] ??= problem('the body is not application/json');
  }
  if (spec.access !== 'public') {
    responses['401'] ??= problem('missing or invalid API key');
    responses['403'] ??= problem('the API key may not do this');
    responses['429'] ??= {
      ...problem(
        'a rate limit is spent (RATE_LIMIT_PER_MINUTE per IP, RATE_LIMIT_PER_KEY_PER_MINUTE per key)',
      ),
      headers: RATE_LIMITED_HEADERS,
    };
  }
  responses.default = problem('an error');

  const op: Operation = {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: spec.tags,
    parameters: [...parameters(spec.params, 'path'), ...parameters(spec.query, 'query')],
    responses: responses as Operation['responses'],
  };
  if (spec.body) {
    op.requestBody = {
      required: true,
      content: { 'application/json': { schema: plain(spec.body) } },
    };
  }
  if (spec.access === 'write') op.security = [{ bearer: [] }, { apiKey: [] }];
  if (spec.access === 'read') op.security = [{}, { bearer: [] }, { apiKey: [] }];
  return op;
}

/** The OpenAPI 3.1 document of every route in the catalog, from the schemas that validate them. */
export function buildOpenApi(routes: readonly RouteSpec[], version: string): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const spec of routes) {
    (paths[spec.path] ??= {})[spec.method] = operation(spec);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'TelemetryPulse API',
      version,
      description:
        'Smart-building telemetry: live KPIs, time series, alerts and ingest. Errors are ' +
        'application/problem+json (RFC 9457). Writes need an API key; reads may too ' +
        '(READ_AUTH=key). The routes tagged "original" keep the original API\'s shape.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    paths,
    components: {
      schemas: { Problem: plain(ProblemSchema) },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an API key as bearer token' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
  };
}
