import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { SiteThresholdsSchema, thresholdProblems, type SiteThresholds } from './alert-rules.ts';
import { SENSOR_TYPES, type SensorType } from './sensors.ts';

export const SITE_API_VERSION = 'telemetrypulse.io/v1alpha1';
export const SITE_KIND = 'Site';

/** The spec of a `Site` resource (defaults as the CRD gives them). */
export const SiteSpecSchema = Type.Object({
  displayName: Type.Optional(Type.String({ maxLength: 200 })),
  zones: Type.Integer({ minimum: 1, maximum: 500, default: 5 }),
  zoneNames: Type.Optional(
    Type.Array(Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }), {
      minItems: 1,
      maxItems: 500,
      uniqueItems: true,
    }),
  ),
  devicesPerZone: Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
  eventsPerSecond: Type.Number({ exclusiveMinimum: 0, maximum: 50_000, default: 5 }),
  // A plain `enum`, not a union of literals: an unknown sensor is then one problem, not five.
  sensors: Type.Array(Type.Unsafe<SensorType>({ type: 'string', enum: [...SENSOR_TYPES] }), {
    minItems: 1,
    uniqueItems: true,
    default: [...SENSOR_TYPES],
  }),
  // Alert rule overrides per sensor: `co2: 1200` or `co2: { threshold, clear, forSeconds, severity }`.
  thresholds: Type.Optional(SiteThresholdsSchema),
  paused: Type.Boolean({ default: false }),
});
export type SiteSpec = Static<typeof SiteSpecSchema>;

export interface Site {
  siteId: string;
  spec: SiteSpec;
}

const SITE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
const checkSpec = ajv.compile<SiteSpec>(SiteSpecSchema);
const checkThresholds = ajv.compile<SiteThresholds>(SiteThresholdsSchema);

/**
 * One line per problem, under `prefix`. A value matching neither form of a union (number or
 * object) is one problem, not the failures of each alternative.
 */
function describeErrors(
  errors: readonly ErrorObject[] | null | undefined,
  prefix: string,
): string[] {
  const list = errors ?? [];
  const unions = new Set(list.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  return list
    .filter((e) => !(e.keyword === 'type' && unions.has(e.instancePath)))
    .map((e) => {
      const path = `${prefix}${e.instancePath.replaceAll('/', '.')}`;
      if (e.keyword === 'anyOf') return `${path} must be a number or an object`;
      const detail =
        e.keyword === 'enum'
          ? `: ${(e.params.allowedValues as unknown[]).join(', ')}`
          : e.keyword === 'additionalProperties'
            ? `: ${String(e.params.additionalProperty)}`
            : '';
      return `${path} ${e.message ?? 'is invalid'}${detail}`;
    });
}

/** Validates a `Site` object as read from a manifest; throws with every problem listed. */
export function parseSite(resource: unknown): Site {
  const r = resource as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown };
    spec?: unknown;
  };
  if (r.kind !== SITE_KIND || r.apiVersion !== SITE_API_VERSION) {
    throw new Error(`not a ${SITE_API_VERSION} ${SITE_KIND}`);
  }
  const name = r.metadata?.name;
  if (typeof name !== 'string' || !SITE_NAME.test(name) || name.length > 63) {
    throw new Error(`Site metadata.name must be a DNS label, got ${JSON.stringify(name)}`);
  }
  const spec = structuredClone(r.spec ?? {});
  if (!checkSpec(spec)) {
    throw new Error(`Site ${name}: ${describeErrors(checkSpec.errors, 'spec').join('; ')}`);
  }
  const problems = spec.thresholds ? thresholdProblems(spec.thresholds) : [];
  if (problems.length > 0) {
    throw new Error(`Site ${name}: ${problems.map((p) => `spec.${p}`).join('; ')}`);
  }
  return { siteId: name, spec };
}

/**
 * Validates `spec.thresholds` as stored in the sites table, which anything with database access
 * may have written; throws with every problem listed.
 */
export function parseThresholds(value: unknown): SiteThresholds {
  const thresholds = structuredClone(value ?? {});
  if (!checkThresholds(thresholds)) {
    throw new Error(describeErrors(checkThresholds.errors, 'thresholds').join('; '));
  }
  const problems = thresholdProblems(thresholds);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return thresholds;
}

export function zoneIds(spec: SiteSpec): string[] {
  if (spec.zoneNames) return [...spec.zoneNames];
  return Array.from({ length: spec.zones }, (_, i) => `zone-${String(i + 1).padStart(2, '0')}`);
}

export function deviceId(siteId: string, zoneId: string, index: number): string {
  return `${siteId}-${zoneId}-dev-${String(index + 1).padStart(2, '0')}`;
}

/**
 * The simulator's environment for one site. The local stack and the operator's Deployment both
 * use this, so a site simulates the same way everywhere.
 */
export function simulatorEnv(site: Site): Record<string, string> {
  return {
    SITE_ID: site.siteId,
    SITE_ZONES: zoneIds(site.spec).join(','),
    DEVICES_PER_ZONE: String(site.spec.devicesPerZone),
    EVENTS_PER_SECOND: String(site.spec.eventsPerSecond),
    SENSORS: site.spec.sensors.join(','),
  };
}

export type { SensorType };
