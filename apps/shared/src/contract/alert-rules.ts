import { Type, type Static } from '@sinclair/typebox';
import { SENSOR_TYPES, type SensorType } from './sensors.ts';

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
/** An incident's status (telemetry_alerts.status). */
export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/**
 * A threshold rule with hysteresis. An incident opens once readings have stayed above
 * `threshold` for `forSeconds` of event time (0: at the first such reading) and resolves at the
 * first reading at or below `clear` (never above `threshold`).
 */
export interface AlertRule {
  sensorType: SensorType;
  alertType: string;
  threshold: number;
  clear: number;
  forSeconds: number;
  severity: AlertSeverity;
}

/**
 * How far below its threshold a sensor has to fall before an incident resolves, when a rule does
 * not say: about twice what a typical sensor is accurate to (NDIR CO2 ±50 ppm, ±0.5 °C, ±3 %RH),
 * so noise around the threshold cannot open and resolve incidents in turn.
 */
export const CLEAR_MARGINS: Readonly<Record<SensorType, number>> = {
  co2: 100,
  temperature: 1,
  humidity: 5,
  occupancy: 2,
};

/**
 * The original system's thresholds and alert types, now with a clear level below each. They open
 * at the first reading above the threshold, as the original did.
 */
export const DEFAULT_ALERT_RULES: readonly AlertRule[] = [
  {
    sensorType: 'co2',
    alertType: 'CO2_HIGH',
    threshold: 1000,
    clear: 900,
    forSeconds: 0,
    severity: 'warning',
  },
  {
    sensorType: 'temperature',
    alertType: 'TEMPERATURE_HIGH',
    threshold: 30,
    clear: 29,
    forSeconds: 0,
    severity: 'warning',
  },
  {
    sensorType: 'humidity',
    alertType: 'HUMIDITY_HIGH',
    threshold: 80,
    clear: 75,
    forSeconds: 0,
    severity: 'warning',
  },
];

/** A site's change to one sensor's rule: a bare number is the threshold. */
export const AlertRuleOverrideSchema = Type.Union([
  Type.Number(),
  Type.Object(
    {
      threshold: Type.Optional(Type.Number()),
      clear: Type.Optional(Type.Number()),
      forSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
      // A plain `enum`, not a union of literals, so a typo is one clear problem.
      severity: Type.Optional(
        Type.Unsafe<AlertSeverity>({ type: 'string', enum: [...ALERT_SEVERITIES] }),
      ),
    },
    { additionalProperties: false },
  ),
]);
export type AlertRuleOverride = Static<typeof AlertRuleOverrideSchema>;

const sensorOverrides = {
  co2: Type.Optional(AlertRuleOverrideSchema),
  temperature: Type.Optional(AlertRuleOverrideSchema),
  humidity: Type.Optional(AlertRuleOverrideSchema),
  occupancy: Type.Optional(AlertRuleOverrideSchema),
} satisfies Record<SensorType, unknown>;

/** `spec.thresholds` of a Site: per sensor, a threshold or a partial rule. */
export const SiteThresholdsSchema = Type.Object(sensorOverrides, { additionalProperties: false });
export type SiteThresholds = Static<typeof SiteThresholdsSchema>;

function asOverride(value: AlertRuleOverride | undefined): Exclude<AlertRuleOverride, number> {
  if (value === undefined) return {};
  return typeof value === 'number' ? { threshold: value } : value;
}

/** The alert type of a sensor no default rule covers, e.g. OCCUPANCY_HIGH. */
export function defaultAlertType(sensorType: SensorType): string {
  return `${sensorType.toUpperCase()}_HIGH`;
}

/**
 * The rules in force at a site: the defaults with the site's overrides applied. A new threshold
 * without a clear level keeps the default's margin below it; a clear level above its threshold
 * is lowered to it. A sensor without a default rule gets one only when the site sets a threshold.
 */
export function resolveAlertRules(
  defaults: readonly AlertRule[],
  thresholds: SiteThresholds | undefined,
): AlertRule[] {
  const rules: AlertRule[] = [];
  for (const sensorType of SENSOR_TYPES) {
    const base = defaults.find((r) => r.sensorType === sensorType);
    const change = asOverride(thresholds?.[sensorType]);
    const threshold = change.threshold ?? base?.threshold;
    if (threshold === undefined) continue;
    const margin = base ? base.threshold - base.clear : CLEAR_MARGINS[sensorType];
    const clear =
      change.clear ?? (change.threshold === undefined && base ? base.clear : threshold - margin);
    rules.push({
      sensorType,
      alertType: base?.alertType ?? defaultAlertType(sensorType),
      threshold,
      clear: Math.min(clear, threshold),
      forSeconds: change.forSeconds ?? base?.forSeconds ?? 0,
      severity: change.severity ?? base?.severity ?? 'warning',
    });
  }
  return rules;
}

/**
 * What is wrong with well-typed overrides against the defaults, as `thresholds.<sensor>…`
 * messages: a clear level above its threshold, or a rule for a sensor without a threshold.
 */
export function thresholdProblems(
  thresholds: SiteThresholds,
  defaults: readonly AlertRule[] = DEFAULT_ALERT_RULES,
): string[] {
  const problems: string[] = [];
  for (const sensorType of SENSOR_TYPES) {
    const value = thresholds[sensorType];
    if (value === undefined) continue;
    const change = asOverride(value);
    const base = defaults.find((r) => r.sensorType === sensorType);
    const threshold = change.threshold ?? base?.threshold;
    if (threshold === undefined) {
      problems.push(`thresholds.${sensorType}.threshold is required: ${sensorType} has no default`);
    } else if (change.clear !== undefined && change.clear > threshold) {
      problems.push(
        `thresholds.${sensorType}.clear (${change.clear}) must be at or below the threshold (${threshold})`,
      );
    }
  }
  return problems;
}

/** Whether a transition opened or resolved an incident; consumers dedupe on alert_id + transition. */
export type AlertTransitionKind = 'opened' | 'resolved';

/**
 * A record on the alerts topic, one per incident opened or resolved. Records are keyed by
 * alert_id, so one incident's records share a partition, but publishers on several replicas may
 * still send them out of order: consumers keep, per alert_id, the record with the highest
 * `version`.
 */
export interface AlertMessage {
  alert_id: number;
  transition: AlertTransitionKind;
  /** The transition's place in the incident's life: opened 1, resolved 2. */
  version: number;
  /** When the state changed, in event time: triggered_at when opened, resolved_at when resolved. */
  transition_at: string;
  status: 'open' | 'resolved';
  site_id: string;
  zone_id: string;
  sensor_type: SensorType;
  alert_type: string;
  severity: AlertSeverity;
  /** The threshold the incident opened above. */
  threshold: number;
  /** The clear level in force at this transition. */
  clear_threshold: number;
  value: number;
  peak_value: number;
  event_count: number;
  /** When readings first went above the threshold (earlier than triggered_at with a "for" wait). */
  condition_since: string;
  triggered_at: string;
  last_seen_at: string;
  resolved_at: string | null;
}
