import { CloneType, Type, type Static } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { SiteThresholdsSchema, thresholdProblems, type SiteThresholds } from './alert-rules.ts';
import { SENSOR_TYPES, type SensorType } from './sensors.ts';

export const SITE_API_VERSION = 'telemetrypulse.io/v1alpha1';
export const SITE_KIND = 'Site';

/** A Kubernetes resource quantity (`100m`, `0.5`, `128Mi`, `1`), as a number or a string. */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
// The form Kubernetes itself uses for quantities, so the CRD can say "int or string" exactly.
const QuantitySchema = Type.Unsafe<string | number>({
  'x-kubernetes-int-or-string': true,
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  pattern: QUANTITY_PATTERN,
});
const ResourceListSchema = Type.Object({
  cpu: Type.Optional(QuantitySchema),
  memory: Type.Optional(QuantitySchema),
});

/** How a site's simulator runs in a cluster; unset fields take the operator's defaults. */
export const SimulatorOverridesSchema = Type.Object({
  image: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 512,
      description: "container image of this site's simulator (default: the operator's)",
    }),
  ),
  resources: Type.Optional(
    Type.Object(
      {
        requests: Type.Optional(ResourceListSchema),
        limits: Type.Optional(ResourceListSchema),
      },
      { description: 'cpu and memory requests and limits of the simulator container' },
    ),
  ),
});
export type SimulatorOverrides = Static<typeof SimulatorOverridesSchema>;

/** The spec of a `Site` resource (defaults as the CRD gives them; the CRD is built from this). */
export const SiteSpecSchema = Type.Object({
  displayName: Type.Optional(
    Type.String({ maxLength: 200, description: 'human-readable name of the site' }),
  ),
  zones: Type.Integer({
    minimum: 1,
    maximum: 500,
    default: 5,
    description: 'number of zones, named zone-01, zone-02, … (ignored when zoneNames is set)',
  }),
  zoneNames: Type.Optional(
    Type.Array(Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }), {
      minItems: 1,
      maxItems: 500,
      uniqueItems: true,
      description: 'zone ids to use instead of numbered zones',
    }),
  ),
  devicesPerZone: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 3,
    description: 'devices in each zone; each reports every sensor',
  }),
  eventsPerSecond: Type.Number({
    exclusiveMinimum: 0,
    maximum: 50_000,
    default: 5,
    description: 'total rate of readings the site publishes',
  }),
  // A plain `enum`, not a union of literals: an unknown sensor is then one problem, not five.
  sensors: Type.Array(Type.Unsafe<SensorType>({ type: 'string', enum: [...SENSOR_TYPES] }), {
    minItems: 1,
    uniqueItems: true,
    default: [...SENSOR_TYPES],
    description: 'sensor types every device reports',
  }),
  // Alert rule overrides per sensor: `co2: 1200` or `co2: { threshold, clear, forSeconds, severity }`.
  thresholds: Type.Optional(
    CloneType(SiteThresholdsSchema, {
      description:
        'alert rule overrides per sensor: a threshold (co2: 1200) or {threshold, clear, forSeconds, severity}',
    }),
  ),
  simulator: Type.Optional(SimulatorOverridesSchema),
  paused: Type.Boolean({
    default: false,
    description: 'stop the simulator (0 replicas) and keep the site',
  }),
});
export type SiteSpec = Static<typeof SiteSpecSchema>;

export interface Site {
  siteId: string;
  spec: SiteSpec;
}

// As in the event contract (device_id).
const DEVICE_ID_MAX_LENGTH = 128;
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
  // The longest device id must still fit the event contract, or the simulator refuses to start.
  const longest = zoneIds(spec).reduce((a, b) => (b.length > a.length ? b : a));
  const longestDevice = deviceId(name, longest, spec.devicesPerZone - 1);
  if (longestDevice.length > DEVICE_ID_MAX_LENGTH) {
    problems.push(
      `zoneNames make device ids longer than ${DEVICE_ID_MAX_LENGTH} characters with this site name: ${longestDevice}`,
    );
  }
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
