import { windowOf, type Sql } from '@telemetrypulse/shared';
import { ALERT_COLUMNS, toAlert, type Alert, type AlertRow } from './alerts.ts';
import { traced } from './db-span.ts';

export interface LiveWindow {
  site_id: string;
  zone_id: string;
  sensor_type: string;
  window_start: string;
  window_end: string;
  count: number;
  avg: number;
  min: number;
  max: number;
}

type WindowRow = Omit<LiveWindow, 'window_start' | 'window_end'> & {
  window_start: Date;
  window_end: Date;
};

const toWindow = (r: WindowRow): LiveWindow => ({
  ...r,
  window_start: r.window_start.toISOString(),
  window_end: r.window_end.toISOString(),
});

/** The 5-minute windows of a site whose start lies in [from, to]. */
export const selectWindows = traced(
  'selectWindows',
  async function selectWindows(
    sql: Sql,
    { siteId, from, to }: { siteId: string; from: Date; to: Date },
  ): Promise<LiveWindow[]> {
    const rows = await sql<WindowRow[]>`
    select site_id, zone_id, sensor_type, window_start, window_end, count_events as count,
           avg_value as avg, min_value as min, max_value as max
    from ${sql(windowOf('5m').table)}
    where site_id = ${siteId} and window_start >= ${from} and window_start <= ${to}
    order by window_start, zone_id, sensor_type`;
    return rows.map(toWindow);
  },
);

/** What a reconnecting stream missed, read in one snapshot. */
export interface Missed {
  alerts: Alert[];
  windows: LiveWindow[];
  /** The cursor after these changes: the xmin of the snapshot they were read in. */
  xmin: bigint;
  /** False when a limit cut the lists short. */
  complete: boolean;
}

export interface MissedFilter {
  siteId: string | undefined;
  /** Rows written by this transaction id or later. */
  xid: bigint;
  /** Alerts updated since (bounds the scan). */
  alertsSince: Date;
  /** Windows starting since. */
  windowsSince: Date;
  maxAlerts: number;
  maxWindows: number;
}

const XID_SPACE = 4_294_967_296n;

/**
 * Alerts and 5-minute windows whose current row was written by transaction `xid` or later. Rows
 * carry their writer's 32-bit id in the xmin system column; it is compared modulo 2^32 with the
 * cursor, which is sound while the cursor is less than 2^31 transactions old (the time bounds
 * keep it to minutes).
 */
export const selectMissed = traced(
  'selectMissed',
  async function selectMissed(sql: Sql, filter: MissedFilter): Promise<Missed> {
    const xid32 = String(filter.xid % XID_SPACE);
    const writtenSince = sql`mod(xmin::text::bigint - ${xid32}::bigint + 4294967296, 4294967296) < 2147483648`;
    const site = filter.siteId === undefined ? sql`` : sql`and site_id = ${filter.siteId}`;
    return sql.begin('isolation level repeatable read read only', async (tx) => {
      const alerts = await tx<AlertRow[]>`
      select ${tx(ALERT_COLUMNS)} from telemetry_alerts
      where updated_at >= ${filter.alertsSince} ${site} and ${writtenSince}
      order by updated_at, alert_id
      limit ${filter.maxAlerts + 1}`;
      const windows = await tx<WindowRow[]>`
      select site_id, zone_id, sensor_type, window_start, window_end, count_events as count,
             avg_value as avg, min_value as min, max_value as max
      from ${tx(windowOf('5m').table)}
      where window_start >= ${filter.windowsSince} ${site} and ${writtenSince}
      order by site_id, window_start, zone_id, sensor_type
      limit ${filter.maxWindows + 1}`;
      const [snapshot] = await tx<{ xmin: string }[]>`
      select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`;
      return {
        alerts: alerts.slice(0, filter.maxAlerts).map(toAlert),
        windows: windows.slice(0, filter.maxWindows).map(toWindow),
        xmin: BigInt(snapshot?.xmin ?? '0'),
        complete: alerts.length <= filter.maxAlerts && windows.length <= filter.maxWindows,
      };
    });
  },
);
