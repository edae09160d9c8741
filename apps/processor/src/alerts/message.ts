import type { AlertMessage, AlertTransitionKind } from '@telemetrypulse/shared';
import type { Incident } from './evaluate.ts';

/**
 * Where a transition stands in its incident's life: consumers keep, per alert_id, the record
 * with the highest version. Opened is 1, resolved 2; a kind of transition added later gets the
 * next number.
 */
export const TRANSITION_VERSION: Readonly<Record<AlertTransitionKind, number>> = {
  opened: 1,
  resolved: 2,
};

const iso = (ms: number) => new Date(ms).toISOString();

/** The alerts-topic record of one transition, from the incident as it was at that moment. */
export function alertMessage(
  alertId: number,
  transition: AlertTransitionKind,
  at: Incident,
): AlertMessage {
  const resolvedAt = at.resolvedAtMs === undefined ? null : iso(at.resolvedAtMs);
  return {
    alert_id: alertId,
    transition,
    version: TRANSITION_VERSION[transition],
    transition_at:
      transition === 'resolved' && resolvedAt !== null ? resolvedAt : iso(at.triggeredAtMs),
    status: transition === 'resolved' ? 'resolved' : 'open',
    site_id: at.siteId,
    zone_id: at.zoneId,
    sensor_type: at.sensorType,
    alert_type: at.alertType,
    severity: at.severity,
    threshold: at.threshold,
    clear_threshold: at.clearThreshold,
    value: at.value,
    peak_value: at.peakValue,
    event_count: at.eventCount,
    condition_since: iso(at.conditionSinceMs),
    triggered_at: iso(at.triggeredAtMs),
    last_seen_at: iso(at.lastSeenAtMs),
    resolved_at: resolvedAt,
  };
}
