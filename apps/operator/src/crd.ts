// The Site CustomResourceDefinition, built from the contract's SiteSpecSchema so the API server
// and parseSite judge a spec by the same rules. `npm run crd` (bin/crd.ts) writes it to the chart;
// a unit test fails when the chart's copy is stale.
import { SITE_KIND, SiteSpecSchema } from '@telemetrypulse/shared';
import { SITE_GROUP, SITE_PLURAL, SITE_VERSION } from './runtime/kube.ts';

/** A schema node in the API's own JSON form (x-kubernetes-…, default, enum). */
export type JsonNode = Record<string, unknown>;

const COPIED = [
  'type',
  'description',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'required',
] as const;

/**
 * A JSON schema (draft 7, as TypeBox writes it) as a Kubernetes structural schema (OpenAPI 3.0):
 * - numeric exclusiveMinimum becomes minimum + exclusiveMinimum: true;
 * - uniqueItems (not allowed in CRDs) becomes x-kubernetes-list-type: set, which also rejects
 *   duplicates;
 * - additionalProperties: false is dropped: the API server prunes unknown fields instead (and
 *   rejects them outright under kubectl's strict field validation);
 * - fields with a default are not listed as required (the server defaults before validating);
 * - a union of different shapes (a threshold is a number or an object) has no structural form:
 *   it keeps any value, and the operator's parseSite reports a wrong one as InvalidSpec.
 */
export function structuralSchema(node: JsonNode): JsonNode {
  const description = typeof node.description === 'string' ? node.description : undefined;
  if (node['x-kubernetes-int-or-string'] === true) {
    return {
      ...(description ? { description } : {}),
      'x-kubernetes-int-or-string': true,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      ...(typeof node.pattern === 'string' ? { pattern: node.pattern } : {}),
    };
  }
  if (Array.isArray(node.anyOf)) {
    return {
      ...(description ? { description } : {}),
      'x-kubernetes-preserve-unknown-fields': true,
    };
  }
  const out: JsonNode = {};
  for (const key of COPIED) {
    if (node[key] !== undefined) out[key] = node[key];
  }
  // A field with a default is never missing once the server has defaulted; listing it as
  // required would also make `default: {}` on its parent invalid.
  const properties = (node.properties ?? {}) as Record<string, JsonNode>;
  if (Array.isArray(node.required)) {
    const required = (node.required as string[]).filter(
      (n) => properties[n]?.default === undefined,
    );
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  if (typeof node.exclusiveMinimum === 'number') {
    out.minimum = node.exclusiveMinimum;
    out.exclusiveMinimum = true;
  }
  if (typeof node.exclusiveMaximum === 'number') {
    out.maximum = node.exclusiveMaximum;
    out.exclusiveMaximum = true;
  }
  if (Array.isArray(node.enum)) out.enum = node.enum;
  if (node.default !== undefined) out.default = node.default;
  if (node.uniqueItems === true) out['x-kubernetes-list-type'] = 'set';
  if (node.items && typeof node.items === 'object') {
    out.items = structuralSchema(node.items as JsonNode);
  }
  if (node.properties && typeof node.properties === 'object') {
    out.properties = Object.fromEntries(
      Object.entries(node.properties as Record<string, JsonNode>).map(([name, child]) => [
        name,
        structuralSchema(child),
      ]),
    );
  }
  return out;
}

const CONDITION_SCHEMA: JsonNode = {
  type: 'object',
  required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
  properties: {
    type: { type: 'string', enum: ['Ready', 'Progressing', 'Degraded'] },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: {
      type: 'string',
      maxLength: 1024,
      minLength: 1,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    },
    message: { type: 'string', maxLength: 32768 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
  },
};

const STATUS_SCHEMA: JsonNode = {
  type: 'object',
  description: 'what the operator last saw and did',
  properties: {
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      description: 'the spec generation this status describes',
    },
    conditions: {
      type: 'array',
      description: 'Ready, Progressing and Degraded, each with a reason',
      items: CONDITION_SCHEMA,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    },
    replicas: { type: 'integer', format: 'int32', description: 'simulator pods' },
    readyReplicas: { type: 'integer', format: 'int32', description: 'simulator pods ready' },
    deploymentName: { type: 'string', description: "the simulator Deployment's name" },
    lastError: { type: 'string', description: 'the problems of the last reconcile, if any' },
  },
};

const READY = '.status.conditions[?(@.type=="Ready")]';

/** The CRD in the API's JSON form. */
export function siteCrd(): JsonNode {
  const spec = structuralSchema(JSON.parse(JSON.stringify(SiteSpecSchema)) as JsonNode);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${SITE_PLURAL}.${SITE_GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'telemetrypulse' },
    },
    spec: {
      group: SITE_GROUP,
      scope: 'Namespaced',
      names: {
        kind: SITE_KIND,
        listKind: `${SITE_KIND}List`,
        plural: SITE_PLURAL,
        singular: 'site',
        shortNames: ['tps'],
        categories: ['telemetrypulse'],
      },
      versions: [
        {
          name: SITE_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Display Name', type: 'string', jsonPath: '.spec.displayName', priority: 1 },
            { name: 'Zones', type: 'integer', jsonPath: '.spec.zones' },
            { name: 'Devices', type: 'integer', jsonPath: '.spec.devicesPerZone', priority: 1 },
            { name: 'Events/s', type: 'number', jsonPath: '.spec.eventsPerSecond' },
            { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused' },
            { name: 'Ready', type: 'string', jsonPath: `${READY}.status` },
            { name: 'Reason', type: 'string', jsonPath: `${READY}.reason` },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A building site whose sensors a simulator Deployment publishes',
              // The name becomes the site id in every event and a label value: a DNS label.
              'x-kubernetes-validations': [
                {
                  rule: "self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 63",
                  message:
                    'a Site name must be a DNS label: at most 63 lower-case letters, digits and -',
                },
              ],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                // Defaults apply inside an empty spec too, so a bare Site is a complete one.
                spec: { ...spec, default: {} },
                status: STATUS_SCHEMA,
              },
            },
          },
        },
      ],
    },
  };
}
