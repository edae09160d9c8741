// ajv 8 (JSON Schema 2020-12, the OpenAPI 3.1 dialect) and its formats, for workspaces that do not
// depend on ajv themselves: the root node_modules holds ajv 6 (eslint's), which they would get.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

export { Ajv2020 };
export type { ErrorObject, ValidateFunction } from 'ajv';

/** A 2020-12 validator with the standard formats (date-time, uuid, …). */
export function createJsonSchemaValidator(options: { strict?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({ strict: options.strict ?? false, allErrors: true });
  addFormatsModule.default(ajv);
  return ajv;
}
