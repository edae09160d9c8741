import assert from 'node:assert/strict';
import {
  createJsonSchemaValidator,
  type ValidateFunction,
} from '@telemetrypulse/shared/json-schema';
import type { OpenApiDocument } from '../src/openapi.ts';

type Json = Record<string, unknown>;

/** Replaces `$ref`s into components with the schema they point at, so ajv needs no document. */
function inline(schema: unknown, doc: OpenApiDocument): unknown {
  if (Array.isArray(schema)) return schema.map((s) => inline(s, doc));
  if (typeof schema !== 'object' || schema === null) return schema;
  const ref = (schema as Json).$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    let target: unknown = doc;
    for (const part of ref.slice(2).split('/')) target = (target as Json)[part];
    return inline(target, doc);
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, inline(v, doc)]));
}

/** Checks real responses against the OpenAPI document and remembers which operations were seen. */
export class Conformance {
  readonly seen = new Set<string>();
  private readonly ajv = createJsonSchemaValidator();
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly doc: OpenApiDocument;

  constructor(doc: OpenApiDocument) {
    this.doc = doc;
  }

  /** The documented path template that `path` matches. */
  template(path: string): string {
    const match = Object.keys(this.doc.paths).find((t) =>
      new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
    );
    assert.ok(match, `${path} is not in the OpenAPI document`);
    return match;
  }

  /** Asserts the response's status, content type and body are what the document says. */
  async check(method: string, url: string, response: Response): Promise<void> {
    const path = new URL(url).pathname;
    const template = this.template(path);
    const operation = this.doc.paths[template]?.[method.toLowerCase()];
    assert.ok(operation, `${method} ${template} is not documented`);
    const status = String(response.status);
    const documented = operation.responses[status] ?? operation.responses.default;
    assert.ok(documented, `${method} ${template} ${status} is not documented`);
    if (!operation.responses[status]) {
      assert.ok(response.status >= 400, `${method} ${template} ${status} only matches default`);
    }
    if (!documented.content && (response.status === 204 || response.status === 304)) {
      assert.equal(await response.clone().text(), '', `${method} ${template} ${status} has a body`);
      return;
    }
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0] ?? '';
    const content = documented.content?.[contentType];
    assert.ok(content, `${method} ${template} ${status}: ${contentType} is not documented`);
    const key = `${method} ${template} ${status} ${contentType}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(inline(content.schema, this.doc) as object);
      this.compiled.set(key, validate);
    }
    const body: unknown = contentType.endsWith('json') ? await response.clone().json() : undefined;
    if (body !== undefined) {
      assert.ok(
        validate(body),
        `${key}: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`,
      );
    }
    if (response.status < 300) this.seen.add(`${method.toUpperCase()} ${template}`);
  }

  /** Operations of the document never answered with a success. */
  unexercised(): string[] {
    return Object.entries(this.doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .filter((op) => !this.seen.has(op));
  }
}
