import type { SensorType } from './sensors.ts';

export type AlertSeverity = 'info' | 'warning' | 'critical';

/** A threshold rule: an incident opens above `threshold`. */
export interface AlertRule {
  sensorType: SensorType;
  alertType: string;
  threshold: number;
  severity: AlertSeverity;
}

/** The original system's thresholds, kept as defaults so its alert types stay the same. */
export const DEFAULT_ALERT_RULES: readonly AlertRule[] = [
  { sensorType: 'co2', alertType: 'CO2_HIGH', threshold: 1000, severity: 'warning' },
  { sensorType: 'temperature', alertType: 'TEMPERATURE_HIGH', threshold: 30, severity: 'warning' },
  { sensorType: 'humidity', alertType: 'HUMIDITY_HIGH', threshold: 80, severity: 'warning' },
];
