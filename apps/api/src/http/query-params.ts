import { FormatRegistry, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type ValueError } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { invalidInput, invalidParameter, type ParameterLocation } from './problem.ts';

// TypeBox checks formats only once they are registered; these are the ones our schemas use.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)));
}
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (v) => UUID.test(v));

export type QueryParser<T extends TObject> = (query: unknown) => Static<T>;

// eslint-disable-next-line no-control-regex -- finding them is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** TypeBox's message, or the allowed values when the schema is an enum. */
function reasonOf(error: ValueError | undefined): string {
  if (!error) return 'invalid';
  const allowed: unknown = error.schema.enum;
  if (Array.isArray(allowed)) return `must be one of ${allowed.join(', ')}`;
  return error.message.charAt(0).toLowerCase() + error.message.slice(1);
}

/**
 * Compiles a route's query (or path) schema into a parser that coerces strings (numbers,
 * defaults) and throws a 400 problem naming the first bad parameter. Unknown and repeated
 * parameters are rejected too: a typo must not silently widen a query; and so are control
 * characters in any value, even where a schema forgot its pattern.
 */
export function queryParser<T extends TObject>(
  schema: T,
  location: ParameterLocation = 'query',
): QueryParser<T> {
  const check = TypeCompiler.Compile(schema);
  const known = Object.keys(schema.properties);
  return (query) => {
    const candidate: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(query ?? {})) {
      if (!known.includes(name)) {
        const allowed = known.length > 0 ? known.join(', ') : 'none';
        throw invalidParameter(
          name,
          `unknown ${location} parameter ${name} (allowed: ${allowed})`,
          location,
        );
      }
      if (typeof value !== 'string') {
        throw invalidParameter(name, `${name} must be given once, as a plain value`, location);
      }
      // Whatever its schema says: no parameter is free text, and PostgreSQL text cannot hold NUL.
      if (CONTROL_CHARACTER.test(value)) {
        throw invalidParameter(name, `${name}: must not hold control characters`, location);
      }
      // TypeBox would truncate "1.5" to 1: an integer parameter must be written as one.
      const type: unknown = schema.properties[name]?.type;
      if (type === 'integer' && !/^-?\d{1,20}$/.test(value)) {
        throw invalidParameter(name, `${name}: must be an integer`, location);
      }
      candidate[name] = value;
    }
    const value = Value.Default(schema, Value.Convert(schema, candidate));
    if (check.Check(value)) return value;
    const error = check.Errors(value).First();
    const name = error?.path.replace(/^\//, '') ?? '';
    throw invalidParameter(name, `${name}: ${reasonOf(error)}`, location);
  };
}

/** Checks a JSON body against its schema; a 400 problem points at the first bad member. */
export function bodyParser<T extends TSchema>(schema: T): (body: unknown) => Static<T> {
  const check = TypeCompiler.Compile(schema);
  return (body) => {
    if (check.Check(body)) return body;
    const error = check.Errors(body).First();
    const pointer = error?.path ?? '';
    throw invalidInput(`${pointer ? pointer.slice(1) : 'body'}: ${reasonOf(error)}`, pointer);
  };
}
