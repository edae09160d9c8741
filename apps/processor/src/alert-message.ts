import type { AlertMessage, AlertTransitionKind } from '@telemetrypulse/shared';
import type { Incident } from './alerts.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** The alerts-topic record of one transition, from the incident as it was at that moment. */
export function alertMessage(
  alertId: number,
  transition: AlertTransitionKind,
  at: Incident,
): AlertMessage {
  return {
    alert_id: alertId,
    transition,
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
    resolved_at: at.resolvedAtMs === undefined ? null : iso(at.resolvedAtMs),
  };
}
