/** The sensor kinds a building reports, with the physical range a real reading can take. */
export const SENSOR_TYPES = ['co2', 'temperature', 'humidity', 'occupancy'] as const;
export type SensorType = (typeof SENSOR_TYPES)[number];

export interface SensorSpec {
  unit: string;
  /** Inclusive physical limits; a reading outside them is invalid input, not an anomaly. */
  min: number;
  max: number;
  integer: boolean;
  /** The usual band in an occupied building; the simulator stays near it. */
  normal: readonly [number, number];
}

export const SENSORS: Readonly<Record<SensorType, SensorSpec>> = {
  co2: { unit: 'ppm', min: 0, max: 10_000, integer: false, normal: [400, 800] },
  temperature: { unit: '°C', min: -40, max: 85, integer: false, normal: [18, 26] },
  humidity: { unit: '%', min: 0, max: 100, integer: false, normal: [30, 60] },
  occupancy: { unit: 'people', min: 0, max: 10_000, integer: true, normal: [0, 20] },
};

export function isSensorType(value: unknown): value is SensorType {
  return typeof value === 'string' && (SENSOR_TYPES as readonly string[]).includes(value);
}
