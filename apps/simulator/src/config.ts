import { Type, type Static } from '@sinclair/typebox';
import {
  ConfigError,
  SITE_API_VERSION,
  SENSOR_TYPES,
  SITE_KIND,
  TOPICS,
  commonEnv,
  deviceId,
  isSensorType,
  kafkaEnv,
  opsEnv,
  parseSite,
  readConfig,
  startupEnv,
  simulatorEnv,
  splitList,
  validateEvent,
  type SensorType,
} from '@telemetrypulse/shared';

// A Site with every field defaulted: the simulator's defaults are the operator's defaults.
const DEFAULT_SITE = simulatorEnv(
  parseSite({
    apiVersion: SITE_API_VERSION,
    kind: SITE_KIND,
    metadata: { name: 'site-01' },
    spec: {},
  }),
);

export const SimulatorConfigSchema = Type.Object({
  ...commonEnv,
  ...kafkaEnv,
  ...opsEnv(9470),
  ...startupEnv,
  SITE_ID: Type.String({
    minLength: 1,
    default: DEFAULT_SITE.SITE_ID,
    description: 'site to simulate',
  }),
  SITE_ZONES: Type.String({
    minLength: 1,
    default: DEFAULT_SITE.SITE_ZONES,
    description: 'comma-separated zone ids',
  }),
  DEVICES_PER_ZONE: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: Number(DEFAULT_SITE.DEVICES_PER_ZONE),
    description: 'devices in each zone; each reports every sensor',
  }),
  EVENTS_PER_SECOND: Type.Number({
    minimum: 0.001,
    maximum: 50_000,
    default: Number(DEFAULT_SITE.EVENTS_PER_SECOND),
    description: 'total rate for the site, round-robin over (device, sensor) pairs',
  }),
  SENSORS: Type.String({
    minLength: 1,
    default: DEFAULT_SITE.SENSORS,
    description: 'comma-separated sensor types each device reports',
  }),
  // At 5 zones, 0.05 opens an alert every ~4 minutes on average: visible soon after start.
  ANOMALY_RATE: Type.Number({
    minimum: 0,
    maximum: 0.99,
    default: 0.05,
    description: 'probability per minute per zone that an anomaly episode starts',
  }),
  SIM_SEED: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 4_294_967_295,
      description: 'seed for reproducible signals (random when unset)',
    }),
  ),
  EVENTS_TOPIC: Type.String({
    minLength: 1,
    default: TOPICS.events,
    description: 'Kafka topic to publish to',
  }),
});

type SimulatorEnv = Static<typeof SimulatorConfigSchema>;

/** The variables as typed values; the two lists arrive split and checked. */
export type SimulatorConfig = Omit<SimulatorEnv, 'SITE_ZONES' | 'SENSORS'> & {
  SITE_ZONES: string[];
  SENSORS: SensorType[];
};

function uniqueList(name: string, value: string): string[] {
  const items = splitList(value);
  if (items.length === 0) throw new ConfigError(`invalid configuration:\n  ${name} lists nothing`);
  const duplicate = items.find((item, i) => items.indexOf(item) !== i);
  if (duplicate !== undefined) {
    throw new ConfigError(`invalid configuration:\n  ${name} lists ${duplicate} twice`);
  }
  return items;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): SimulatorConfig {
  const raw = readConfig(SimulatorConfigSchema, env);
  const zones = uniqueList('SITE_ZONES', raw.SITE_ZONES);
  const sensors = uniqueList('SENSORS', raw.SENSORS);
  const unknown = sensors.filter((s) => !isSensorType(s));
  if (unknown.length > 0) {
    throw new ConfigError(
      `invalid configuration:\n  SENSORS has unknown sensor types ${unknown.join(', ')} (known: ${SENSOR_TYPES.join(', ')})`,
    );
  }
  // The contract decides which ids are valid: try the longest device id of every zone.
  for (const zone of zones) {
    const check = validateEvent({
      event_id: '00000000-0000-4000-8000-000000000000',
      device_id: deviceId(raw.SITE_ID, zone, raw.DEVICES_PER_ZONE - 1),
      site_id: raw.SITE_ID,
      zone_id: zone,
      sensor_type: 'occupancy',
      value: 0,
      ts_event: new Date().toISOString(),
    });
    if (!check.ok) {
      throw new ConfigError(
        `invalid configuration:\n  SITE_ID ${raw.SITE_ID} with zone ${zone} makes invalid events: ${check.reason}`,
      );
    }
  }
  return { ...raw, SITE_ZONES: zones, SENSORS: sensors.filter(isSensorType) };
}
