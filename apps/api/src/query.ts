import type { Static, TObject } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { invalidParameter } from './problem.ts';

export type QueryParser<T extends TObject> = (query: unknown) => Static<T>;

/**
 * Compiles a route's query schema into a parser that coerces strings (numbers, defaults) and
 * throws a 400 problem naming the first bad parameter. Unknown and repeated parameters are
 * rejected too: a typo must not silently widen a query.
 */
export function queryParser<T extends TObject>(schema: T): QueryParser<T> {
  const check = TypeCompiler.Compile(schema);
  const known = Object.keys(schema.properties);
  return (query) => {
    const candidate: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(query ?? {})) {
      if (!known.includes(name)) {
        const allowed = known.length > 0 ? known.join(', ') : 'none';
        throw invalidParameter(name, `unknown query parameter ${name} (allowed: ${allowed})`);
      }
      if (typeof value !== 'string') {
        throw invalidParameter(name, `${name} must be given once, as a plain value`);
      }
      candidate[name] = value;
    }
    const value = Value.Default(schema, Value.Convert(schema, candidate));
    if (check.Check(value)) return value;
    const error = check.Errors(value).First();
    const name = error?.path.replace(/^\//, '') ?? '';
    const reason = error
      ? error.message.charAt(0).toLowerCase() + error.message.slice(1)
      : 'invalid';
    throw invalidParameter(name, `${name}: ${reason}`);
  };
}
