import {
  parseEventTime,
  type TelemetryAlertRow,
  type TelemetryEvent,
  type Tx,
} from '@telemetrypulse/shared';
import { alertMessage } from './message.ts';
import {
  alertKey,
  evaluateAlerts,
  type AlertEvaluation,
  type AlertKey,
  type AlertState,
  type AlertTransition,
  type DeviceReading,
  type Incident,
  type Reading,
} from './evaluate.ts';
import type { AlongWithCommit } from '../ingest/pipelined-transaction.ts';
import { frozenRuleBook, type AlertRules } from './rules.ts';

/** Notified by a batch that wrote alert transitions, so outbox publishers send them at once. */
export const ALERT_OUTBOX_CHANNEL = 'telemetrypulse_alert_outbox';

/** Incidents are written here only, from readings of known sensors. */
type AlertRow = TelemetryAlertRow & { sensor_type: Reading['sensorType'] };

/** A key's devices as stored: {"<device_id>": [value, epoch ms]}. */
type StoredDevices = Record<string, [number, number]>;

function devicesOf(stored: StoredDevices): Map<string, DeviceReading> {
  return new Map(Object.entries(stored).map(([id, [value, tsMs]]) => [id, { value, tsMs }]));
}

function storedDevices(devices: ReadonlyMap<string, DeviceReading>): StoredDevices {
  const stored: StoredDevices = {};
  for (const [id, { value, tsMs }] of devices) stored[id] = [value, tsMs];
  return stored;
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : iso(ms));

function incidentOf(row: AlertRow): Incident {
  return {
    alertId: row.alert_id,
    siteId: row.site_id,
    zoneId: row.zone_id,
    sensorType: row.sensor_type,
    alertType: row.alert_type,
    severity: row.severity,
    threshold: row.threshold,
    // Incidents opened before clear levels existed resolved at their threshold.
    clearThreshold: row.clear_threshold ?? row.threshold,
    value: row.value,
    peakValue: row.peak_value,
    eventCount: row.event_count,
    conditionSinceMs: (row.condition_since ?? row.triggered_at).getTime(),
    triggeredAtMs: row.triggered_at.getTime(),
    lastSeenAtMs: row.last_seen_at.getTime(),
  };
}

/**
 * The alert state of the keys this batch touches, locked for the transaction. Each key's
 * watermark row is created first and locked in key order, so concurrent batches on the same
 * zone take turns instead of deciding from the same stale state.
 */
async function loadAlertStates(
  tx: Tx,
  keys: readonly AlertKey[],
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
  // Sent together, one round trip: the transaction holds its window rows' locks by now (the
  // events' statement is ahead of these on the connection), and every round trip the replica's
  // busy event loop answers late keeps the other lane's transaction waiting on them.
  const [, watermarks, active] = await Promise.all([
    tx`
    insert into alert_watermarks (site_id, zone_id, alert_type)
    select * from (${wanted}) w order by 1, 2, 3
    on conflict do nothing`,
    tx<
      {
        site_id: string;
        zone_id: string;
        alert_type: string;
        judged_until: Date | null;
        pending_since: Date | null;
        devices: StoredDevices;
      }[]
    >`
    select site_id, zone_id, alert_type, judged_until, pending_since, devices from alert_watermarks
    where (site_id, zone_id, alert_type) in (${wanted})
    order by 1, 2, 3
    for update`,
    tx<AlertRow[]>`
    select * from telemetry_alerts
    where status <> 'resolved' and (site_id, zone_id, alert_type) in (${wanted})`,
  ]);
  for (const row of watermarks) {
    const state: AlertState = {
      watermarkMs: row.judged_until?.getTime() ?? Number.NEGATIVE_INFINITY,
      devices: devicesOf(row.devices),
    };
    if (row.pending_since) state.pendingSinceMs = row.pending_since.getTime();
    states.set(alertKey(row.site_id, row.zone_id, row.alert_type), state);
  }
  for (const row of active) {
    const key = alertKey(row.site_id, row.zone_id, row.alert_type);
    states.set(key, {
      watermarkMs: Number.NEGATIVE_INFINITY,
      ...states.get(key),
      active: incidentOf(row),
    });
  }
  return states;
}

/**
 * Writes the changed incidents: existing ones (updates and resolutions) first, so a new
 * incident never meets the one it follows in the one-active-per-key index. Returns every
 * incident's alert id.
 */
async function writeIncidents(
  tx: Tx,
  incidents: readonly Incident[],
): Promise<Map<Incident, number>> {
  const ids = new Map<Incident, number>();
  const existing = incidents.filter((i) => i.alertId !== undefined);
  for (const incident of existing) ids.set(incident, incident.alertId ?? 0);
  if (existing.length > 0) {
    await tx`
      update telemetry_alerts a set
        value = u.value, peak_value = u.peak_value, event_count = u.event_count,
        last_seen_at = u.last_seen_at, resolved_at = u.resolved_at,
        clear_threshold = u.clear_threshold,
        status = case when u.resolved_at is null then a.status else 'resolved' end,
        updated_at = now()
      from unnest(
        ${existing.map((i) => i.alertId ?? 0)}::bigint[], ${existing.map((i) => i.value)}::float8[],
        ${existing.map((i) => i.peakValue)}::float8[], ${existing.map((i) => i.eventCount)}::int[],
        ${existing.map((i) => iso(i.lastSeenAtMs))}::timestamptz[],
        ${existing.map((i) => isoOrNull(i.resolvedAtMs))}::timestamptz[],
        ${existing.map((i) => i.clearThreshold)}::float8[]
      ) as u(alert_id, value, peak_value, event_count, last_seen_at, resolved_at, clear_threshold)
      where a.alert_id = u.alert_id`;
  }
  // New incidents are rare (one per incident), so one insert each keeps the id mapping plain.
  for (const i of incidents) {
    if (i.alertId !== undefined) continue;
    const [row] = await tx<{ alert_id: number }[]>`
      insert into telemetry_alerts (site_id, zone_id, sensor_type, alert_type, severity, status,
        threshold, clear_threshold, value, peak_value, event_count, condition_since,
        triggered_at, last_seen_at, resolved_at)
      values (${i.siteId}, ${i.zoneId}, ${i.sensorType}, ${i.alertType}, ${i.severity},
        ${i.resolvedAtMs === undefined ? 'open' : 'resolved'}, ${i.threshold},
        ${i.clearThreshold}, ${i.value}, ${i.peakValue}, ${i.eventCount},
        ${iso(i.conditionSinceMs)}, ${iso(i.triggeredAtMs)}, ${iso(i.lastSeenAtMs)},
        ${isoOrNull(i.resolvedAtMs)})
      returning alert_id`;
    if (row) ids.set(i, row.alert_id);
  }
  return ids;
}

/** Queues the transitions for the alerts topic, in the batch's transaction: none can be lost. */
async function enqueueTransitions(
  tx: Tx,
  transitions: readonly AlertTransition[],
  ids: ReadonlyMap<Incident, number>,
): Promise<void> {
  if (transitions.length === 0) return;
  const rows = transitions.map((t) => {
    const alertId = ids.get(t.incident) ?? 0;
    return {
      alert_id: alertId,
      transition: t.transition,
      site_id: t.at.siteId,
      payload: alertMessage(alertId, t.transition, t.at),
    };
  });
  // The rows go as one text document (a jsonb parameter would be JSON-encoded a second time);
  // ordinality keeps the outbox in event-time order.
  await tx`
    insert into alert_outbox (alert_id, transition, site_id, payload)
    select (r.doc->>'alert_id')::bigint, r.doc->>'transition', r.doc->>'site_id', r.doc->'payload'
    from jsonb_array_elements(${JSON.stringify(rows)}::text::jsonb) with ordinality as r(doc, ord)
    order by r.ord`;
  await tx`select pg_notify(${ALERT_OUTBOX_CHANNEL}, '')`;
}

async function saveKeyStates(tx: Tx, keys: AlertEvaluation['keys']): Promise<void> {
  const judged = [...keys.values()].map((j) => ({
    site_id: j.siteId,
    zone_id: j.zoneId,
    alert_type: j.alertType,
    ts: iso(j.watermarkMs),
    pending_since: isoOrNull(j.pendingSinceMs),
    devices: storedDevices(j.devices),
  }));
  if (judged.length === 0) return;
  // One text document (a jsonb parameter would be JSON-encoded a second time).
  await tx`
    update alert_watermarks w set
      judged_until = greatest(w.judged_until, j.ts), pending_since = j.pending_since,
      devices = j.devices
    from jsonb_to_recordset(${JSON.stringify(judged)}::text::jsonb) as j(
      site_id text, zone_id text, alert_type text, ts timestamptz, pending_since timestamptz,
      devices jsonb)
    where (w.site_id, w.zone_id, w.alert_type) = (j.site_id, j.zone_id, j.alert_type)`;
}

/**
 * Runs the alert rules over the newly stored events, in the batch's transaction: writes the
 * changed incidents, queues their opens and resolves for the alerts topic, and saves each key's
 * watermark and pending state. That last write is handed to `alongWithCommit` (see
 * pipelined-transaction.ts), so it needs no round trip of its own.
 */
export async function applyAlerts(
  tx: Tx,
  rules: AlertRules,
  stored: readonly TelemetryEvent[],
  alongWithCommit: AlongWithCommit,
): Promise<AlertEvaluation> {
  const book = frozenRuleBook(rules);
  const readings: Reading[] = [];
  const keys = new Map<string, AlertKey>();
  for (const e of stored) {
    const rule = book.forSite(e.site_id).get(e.sensor_type);
    if (!rule) continue;
    readings.push({
      siteId: e.site_id,
      zoneId: e.zone_id,
      deviceId: e.device_id,
      sensorType: e.sensor_type,
      value: e.value,
      tsMs: parseEventTime(e.ts_event),
    });
    const key = alertKey(e.site_id, e.zone_id, rule.alertType);
    if (!keys.has(key)) {
      keys.set(key, { siteId: e.site_id, zoneId: e.zone_id, alertType: rule.alertType });
    }
  }
  const states = await loadAlertStates(tx, [...keys.values()]);
  const evaluation = evaluateAlerts(book, states, readings);
  const ids = await writeIncidents(tx, evaluation.incidents);
  await enqueueTransitions(tx, evaluation.transitions, ids);
  alongWithCommit(saveKeyStates(tx, evaluation.keys));
  return evaluation;
}
