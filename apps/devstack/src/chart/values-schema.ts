// values.schema.json checks `values.sites` against the Site contract itself, so a typo in a site
// fails `helm install` with its path instead of being pruned silently by the CRD. This module
// writes that part of the schema; a test checks that the committed file matches.
// Run after changing the Site contract: node apps/devstack/src/chart/values-schema.ts
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SiteSpecSchema } from '@telemetrypulse/shared';
import { REPO_ROOT } from '../paths.ts';

export const CHART_DIR = path.join(REPO_ROOT, 'charts', 'telemetrypulse');
export const VALUES_SCHEMA_PATH = path.join(CHART_DIR, 'values.schema.json');

type JsonObject = Record<string, unknown>;

/** The Site spec as chart values accept it: every field optional (the CRD fills in defaults). */
export function siteSpecValuesSchema(): JsonObject {
  // Through JSON: drops TypeBox's symbol keys, leaves plain JSON Schema.
  const schema = JSON.parse(JSON.stringify(SiteSpecSchema)) as JsonObject;
  delete schema.required;
  return {
    ...schema,
    description: 'spec of a Site (generated from apps/shared/src/contract/site.ts)',
    additionalProperties: false,
  };
}

export function readValuesSchema(): JsonObject {
  return JSON.parse(readFileSync(VALUES_SCHEMA_PATH, 'utf8')) as JsonObject;
}

/** values.schema.json with its `definitions.siteSpec` generated from the Site contract. */
export function valuesSchemaWithSiteSpec(): JsonObject {
  const schema = readValuesSchema();
  const definitions = schema.definitions as JsonObject;
  definitions.siteSpec = siteSpecValuesSchema();
  return schema;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  writeFileSync(VALUES_SCHEMA_PATH, `${JSON.stringify(valuesSchemaWithSiteSpec(), null, 2)}\n`);
  console.log(`wrote ${path.relative(REPO_ROOT, VALUES_SCHEMA_PATH)}`);
}
