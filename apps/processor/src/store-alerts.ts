import type { AlertRule, TelemetryEvent, Tx } from '@telemetrypulse/shared';
import {
  alertKey,
  evaluateAlerts,
  judgedUntil,
  type AlertState,
  type Incident,
  type Reading,
} from './alerts.ts';

interface AlertRow {
  alert_id: number;
  site_id: string;
  zone_id: string;
  sensor_type: Reading['sensorType'];
  alert_type: string;
  severity: Incident['severity'];
  threshold: number;
  value: number;
  peak_value: number;
  event_count: number;
  triggered_at: Date;
  last_seen_at: Date;
}

/**
 * The alert state of the keys this batch touches, locked for the transaction. Each key's
 * watermark row is created first and locked in key order, so concurrent batches on the same
 * zone take turns instead of deciding from the same stale state.
 */
async function loadAlertStates(
  tx: Tx,
  keys: readonly { siteId: string; zoneId: string; alertType: string }[],
): Promise<Map<string, AlertState>> {
  const states = new Map<string, AlertState>();
  if (keys.length === 0) return states;
  const sorted = [...keys].sort((a, b) =>
    alertKey(a.siteId, a.zoneId, a.alertType).localeCompare(
      alertKey(b.siteId, b.zoneId, b.alertType),
    ),
  );
  const wanted = tx`
    select * from unnest(${sorted.map((k) => k.siteId)}::text[], ${sorted.map((k) => k.zoneId)}::text[],
                         ${sorted.map((k) => k.alertType)}::text[])`;
  await tx`
    insert into alert_watermarks (site_id, zone_id, alert_type)
    select * from (${wanted}) w order by 1, 2, 3
    on conflict do nothing`;
  const watermarks = await tx<
    { site_id: string; zone_id: string; alert_type: string; judged_until: Date | null }[]
  >`
    select site_id, zone_id, alert_type, judged_until from alert_watermarks
    where (site_id, zone_id, alert_type) in (${wanted})
    order by 1, 2, 3
    for update`;
  for (const row of watermarks) {
    states.set(alertKey(row.site_id, row.zone_id, row.alert_type), {
      watermarkMs: row.judged_until?.getTime() ?? Number.NEGATIVE_INFINITY,
    });
  }
  const active = await tx<AlertRow[]>`
    select * from telemetry_alerts
    where status <> 'resolved' and (site_id, zone_id, alert_type) in (${wanted})`;
  for (const row of active) {
    const key = alertKey(row.site_id, row.zone_id, row.alert_type);
    states.set(key, {
      watermarkMs: states.get(key)?.watermarkMs ?? Number.NEGATIVE_INFINITY,
      active: {
        alertId: row.alert_id,
        siteId: row.site_id,
        zoneId: row.zone_id,
        sensorType: row.sensor_type,
        alertType: row.alert_type,
        severity: row.severity,
        threshold: row.threshold,
        value: row.value,
        peakValue: row.peak_value,
        eventCount: row.event_count,
        triggeredAtMs: row.triggered_at.getTime(),
        lastSeenAtMs: row.last_seen_at.getTime(),
      },
    });
  }
  return states;
}

async function writeIncident(tx: Tx, incident: Incident): Promise<void> {
  const resolvedAt = incident.resolvedAtMs === undefined ? null : new Date(incident.resolvedAtMs);
  if (incident.alertId !== undefined) {
    await tx`
      update telemetry_alerts set
        value = ${incident.value}, peak_value = ${incident.peakValue},
        event_count = ${incident.eventCount}, last_seen_at = ${new Date(incident.lastSeenAtMs)},
        resolved_at = ${resolvedAt},
        status = case when ${resolvedAt}::timestamptz is null then status else 'resolved' end,
        updated_at = now()
      where alert_id = ${incident.alertId}`;
    return;
  }
  await tx`
    insert into telemetry_alerts (site_id, zone_id, sensor_type, alert_type, severity, status,
      threshold, value, peak_value, event_count, triggered_at, last_seen_at, resolved_at)
    values (${incident.siteId}, ${incident.zoneId}, ${incident.sensorType}, ${incident.alertType},
      ${incident.severity}, ${resolvedAt ? 'resolved' : 'open'}, ${incident.threshold},
      ${incident.value}, ${incident.peakValue}, ${incident.eventCount},
      ${new Date(incident.triggeredAtMs)}, ${new Date(incident.lastSeenAtMs)}, ${resolvedAt})`;
}

/** Runs the alert rules over the newly stored events and writes what changed. */
export async function applyAlerts(
  tx: Tx,
  rules: readonly AlertRule[],
  stored: readonly TelemetryEvent[],
): Promise<Incident[]> {
  const ruleTypes = new Map(rules.map((r) => [r.sensorType, r.alertType]));
  const readings: Reading[] = [];
  const keys = new Map<string, { siteId: string; zoneId: string; alertType: string }>();
  for (const e of stored) {
    const alertType = ruleTypes.get(e.sensor_type);
    if (!alertType) continue;
    readings.push({
      siteId: e.site_id,
      zoneId: e.zone_id,
      sensorType: e.sensor_type,
      value: e.value,
      tsMs: Date.parse(e.ts_event),
    });
    keys.set(alertKey(e.site_id, e.zone_id, alertType), {
      siteId: e.site_id,
      zoneId: e.zone_id,
      alertType,
    });
  }
  const states = await loadAlertStates(tx, [...keys.values()]);
  const incidents = evaluateAlerts(rules, states, readings);
  // Resolutions first, so a new incident never meets the one it follows in the unique index.
  const ordered = [...incidents].sort(
    (a, b) => Number(b.resolvedAtMs !== undefined) - Number(a.resolvedAtMs !== undefined),
  );
  for (const incident of ordered) await writeIncident(tx, incident);
  const judged = [...judgedUntil(rules, readings).values()];
  if (judged.length > 0) {
    await tx`
      update alert_watermarks w set judged_until = greatest(w.judged_until, j.ts)
      from unnest(${judged.map((j) => j.siteId)}::text[], ${judged.map((j) => j.zoneId)}::text[],
                  ${judged.map((j) => j.alertType)}::text[], ${judged.map((j) => new Date(j.tsMs).toISOString())}::timestamptz[])
        as j(site_id, zone_id, alert_type, ts)
      where (w.site_id, w.zone_id, w.alert_type) = (j.site_id, j.zone_id, j.alert_type)`;
  }
  return incidents;
}
