import type { Sql, TelemetryAlertRow } from '@telemetrypulse/shared';
import type { Position } from '../http/page-cursor.ts';
import { traced } from './db-span.ts';

/** The columns the API shows of an incident. */
export type AlertRow = Pick<TelemetryAlertRow, (typeof ALERT_COLUMNS)[number]>;

export type Alert = Omit<
  AlertRow,
  'triggered_at' | 'last_seen_at' | 'resolved_at' | 'acknowledged_at' | 'updated_at'
> & {
  triggered_at: string;
  last_seen_at: string;
  resolved_at: string | null;
  acknowledged_at: string | null;
  updated_at: string;
};

const iso = (date: Date | null) => (date === null ? null : date.toISOString());

export function toAlert(row: AlertRow): Alert {
  return {
    ...row,
    triggered_at: row.triggered_at.toISOString(),
    last_seen_at: row.last_seen_at.toISOString(),
    resolved_at: iso(row.resolved_at),
    acknowledged_at: iso(row.acknowledged_at),
    updated_at: row.updated_at.toISOString(),
  };
}

export const ALERT_COLUMNS = [
  'alert_id',
  'site_id',
  'zone_id',
  'sensor_type',
  'alert_type',
  'severity',
  'status',
  'threshold',
  'value',
  'peak_value',
  'event_count',
  'triggered_at',
  'last_seen_at',
  'resolved_at',
  'acknowledged_at',
  'acknowledged_by',
  'resolved_by',
  'comment',
  'updated_at',
] as const satisfies readonly (keyof TelemetryAlertRow)[];

export interface AlertFilter {
  status?: string | undefined;
  siteId?: string | undefined;
  zoneId?: string | undefined;
  severity?: string | undefined;
  /** Triggered at or after. */
  from?: Date | undefined;
  /** Triggered before. */
  to?: Date | undefined;
  after?: Position | undefined;
  limit: number;
}

/** Newest incidents first, keyset-paginated on (triggered_at, alert_id). */
export const selectAlerts = traced(
  'selectAlerts',
  async function selectAlerts(sql: Sql, filter: AlertFilter): Promise<Alert[]> {
    const conditions = [
      filter.status && sql`status = ${filter.status}`,
      filter.siteId && sql`site_id = ${filter.siteId}`,
      filter.zoneId && sql`zone_id = ${filter.zoneId}`,
      filter.severity && sql`severity = ${filter.severity}`,
      filter.from && sql`triggered_at >= ${filter.from}`,
      filter.to && sql`triggered_at < ${filter.to}`,
      filter.after &&
        sql`(triggered_at, alert_id) < (${new Date(filter.after.timeMs)}, ${filter.after.id})`,
    ].filter((c) => typeof c === 'object');
    const where = conditions.reduce((all, c) => sql`${all} and ${c}`, sql`true`);
    const rows = await sql<AlertRow[]>`
    select ${sql(ALERT_COLUMNS)} from telemetry_alerts
    where ${where}
    order by triggered_at desc, alert_id desc
    limit ${filter.limit}`;
    return rows.map(toAlert);
  },
);

export const selectAlert = traced(
  'selectAlert',
  async function selectAlert(sql: Sql, alertId: number): Promise<Alert | undefined> {
    const [row] = await sql<AlertRow[]>`
    select ${sql(ALERT_COLUMNS)} from telemetry_alerts where alert_id = ${alertId}`;
    return row && toAlert(row);
  },
);

export type AlertAction = 'acknowledge' | 'resolve';

export type ActionOutcome =
  | { outcome: 'done'; alert: Alert }
  | { outcome: 'missing' }
  | { outcome: 'conflict'; status: string };

/**
 * Acknowledges an open incident, or resolves one that is not resolved yet, recording who did it
 * and their comment. One conditional update, so two people acting at once cannot both succeed.
 */
export const applyAlertAction = traced(
  'applyAlertAction',
  async function applyAlertAction(
    sql: Sql,
    {
      alertId,
      action,
      by,
      comment,
    }: {
      alertId: number;
      action: AlertAction;
      by: string;
      comment?: string | undefined;
    },
  ): Promise<ActionOutcome> {
    const change =
      action === 'acknowledge'
        ? sql`status = 'acknowledged', acknowledged_at = now(), acknowledged_by = ${by}`
        : sql`status = 'resolved', resolved_at = now(), resolved_by = ${by}`;
    const allowed = action === 'acknowledge' ? sql`status = 'open'` : sql`status <> 'resolved'`;
    const [row] = await sql<AlertRow[]>`
    update telemetry_alerts set ${change},
      comment = coalesce(${comment ?? null}::text, comment), updated_at = now()
    where alert_id = ${alertId} and ${allowed}
    returning ${sql(ALERT_COLUMNS)}`;
    if (row) return { outcome: 'done', alert: toAlert(row) };
    const current = await selectAlert(sql, alertId);
    return current ? { outcome: 'conflict', status: current.status } : { outcome: 'missing' };
  },
);
