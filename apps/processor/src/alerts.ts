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
  /** The newest reading time judged so far; older readings are late. */
  watermarkMs: number;
}

export function alertKey(siteId: string, zoneId: string, alertType: string): string {
  return `${siteId}\u0000${zoneId}\u0000${alertType}`;
}

/**
 * Applies the threshold rules to a batch of readings in event-time order. An incident opens on
 * the first reading above its threshold, is updated while readings stay above it, and resolves
 * on the first reading at or below it.
 *
 * A reading older than what was already judged for its key (the watermark) is late: it cannot
 * open, reopen or resolve an incident, but a late high reading during the open incident still
 * counts towards its peak and count. This matters because a zone's devices sit on different
 * partitions, so their readings reach the rules out of order. Returns every changed incident.
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
    const above = reading.value > rule.threshold;
    const active = state.active;

    if (reading.tsMs < state.watermarkMs) {
      if (active && above && reading.tsMs >= active.triggeredAtMs) {
        active.peakValue = Math.max(active.peakValue, reading.value);
        active.eventCount += 1;
        changed.add(active);
      }
      continue;
    }
    state.watermarkMs = reading.tsMs;

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

/** The newest reading time per key: what has been judged once this batch is stored. */
export function judgedUntil(
  rules: readonly AlertRule[],
  readings: readonly Reading[],
): Map<string, { siteId: string; zoneId: string; alertType: string; tsMs: number }> {
  const alertTypes = new Map(rules.map((r) => [r.sensorType, r.alertType]));
  const latest = new Map<
    string,
    { siteId: string; zoneId: string; alertType: string; tsMs: number }
  >();
  for (const r of readings) {
    const alertType = alertTypes.get(r.sensorType);
    if (!alertType) continue;
    const key = alertKey(r.siteId, r.zoneId, alertType);
    const seen = latest.get(key);
    if (!seen || r.tsMs > seen.tsMs) {
      latest.set(key, { siteId: r.siteId, zoneId: r.zoneId, alertType, tsMs: r.tsMs });
    }
  }
  return latest;
}
