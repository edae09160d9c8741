import type { AlertRule, AlertSeverity, SensorType } from '@telemetrypulse/shared';

/** A reading that was newly stored in this batch (redeliveries never reach the rules). */
export interface Reading {
  siteId: string;
  zoneId: string;
  sensorType: SensorType;
  value: number;
  tsMs: number;
}

/** One incident: at most one per site, zone and alert type is not resolved. */
export interface Incident {
  /** Set when the incident already exists in the database. */
  alertId?: number;
  siteId: string;
  zoneId: string;
  sensorType: SensorType;
  alertType: string;
  severity: AlertSeverity;
  threshold: number;
  value: number;
  peakValue: number;
  eventCount: number;
  triggeredAtMs: number;
  lastSeenAtMs: number;
  resolvedAtMs?: number;
}

/** What the rules know about one site/zone/type before the batch. */
export interface AlertState {
  active?: Incident;
  /** Readings at or before this time were already judged (e.g. by a resolved incident). */
  watermarkMs: number;
}

export function alertKey(siteId: string, zoneId: string, alertType: string): string {
  return `${siteId}\u0000${zoneId}\u0000${alertType}`;
}

/**
 * Applies the threshold rules to a batch of readings in event-time order. An incident opens on
 * the first reading above its threshold, is updated while readings stay above it, and resolves
 * on the first reading at or below it. Readings older than what was already judged are ignored,
 * so late data cannot reopen a closed incident. Returns every incident that changed.
 */
export function evaluateAlerts(
  rules: readonly AlertRule[],
  states: ReadonlyMap<string, AlertState>,
  readings: readonly Reading[],
): Incident[] {
  const rulesBySensor = new Map(rules.map((r) => [r.sensorType, r]));
  const working = new Map<string, { active?: Incident; watermarkMs: number }>();
  const changed = new Set<Incident>();
  const ordered = [...readings].sort((a, b) => a.tsMs - b.tsMs);

  for (const reading of ordered) {
    const rule = rulesBySensor.get(reading.sensorType);
    if (!rule) continue;
    const key = alertKey(reading.siteId, reading.zoneId, rule.alertType);
    let state = working.get(key);
    if (!state) {
      const before = states.get(key);
      state = { watermarkMs: before?.watermarkMs ?? Number.NEGATIVE_INFINITY };
      if (before?.active) state.active = { ...before.active };
      working.set(key, state);
    }
    if (reading.tsMs <= state.watermarkMs) continue;
    state.watermarkMs = reading.tsMs;

    const above = reading.value > rule.threshold;
    const active = state.active;
    if (active && above) {
      active.value = reading.value;
      active.peakValue = Math.max(active.peakValue, reading.value);
      active.eventCount += 1;
      active.lastSeenAtMs = reading.tsMs;
      changed.add(active);
    } else if (active) {
      active.resolvedAtMs = reading.tsMs;
      changed.add(active);
      delete state.active;
    } else if (above) {
      const opened: Incident = {
        siteId: reading.siteId,
        zoneId: reading.zoneId,
        sensorType: reading.sensorType,
        alertType: rule.alertType,
        severity: rule.severity,
        threshold: rule.threshold,
        value: reading.value,
        peakValue: reading.value,
        eventCount: 1,
        triggeredAtMs: reading.tsMs,
        lastSeenAtMs: reading.tsMs,
      };
      state.active = opened;
      changed.add(opened);
    }
  }
  return [...changed];
}
