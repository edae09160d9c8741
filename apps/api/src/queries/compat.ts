import {
  windowOf,
  type Sql,
  type TelemetryAlertRow,
  type WindowName,
} from '@telemetrypulse/shared';
import { traced } from './db-span.ts';

// Row shapes of the compat routes (the original system's routes): field names are the ones its
// clients read.

export interface TrendPoint {
  /** Window start, ISO-8601 UTC. */
  timestamp: string;
  avg: number;
  min: number;
  max: number;
}

/** The windows `/trends` offers, as the original system did. */
export const TREND_WINDOWS = ['5m', '15m'] as const satisfies readonly WindowName[];

export interface TrendFilter {
  sensorType: string;
  zoneId?: string | undefined;
  siteId?: string | undefined;
  window: (typeof TREND_WINDOWS)[number];
  limit: number;
}

/**
 * The newest windows of a sensor, one point per window: zones (and sites) in the same window are
 * merged exactly from their sums and counts, not averaged averages.
 */
export const selectTrend = traced(
  'selectTrend',
  async function selectTrend(sql: Sql, filter: TrendFilter): Promise<TrendPoint[]> {
    const table = sql(windowOf(filter.window).table);
    const rows = await sql<{ window_start: Date; avg: number; min: number; max: number }[]>`
    select window_start,
           (sum(sum_value) / sum(count_events))::float8 as avg,
           min(min_value) as min, max(max_value) as max
    from ${table}
    where sensor_type = ${filter.sensorType}
      ${filter.zoneId === undefined ? sql`` : sql`and zone_id = ${filter.zoneId}`}
      ${filter.siteId === undefined ? sql`` : sql`and site_id = ${filter.siteId}`}
    group by window_start
    order by window_start desc
    limit ${filter.limit}`;
    return rows.map((r) => ({
      timestamp: r.window_start.toISOString(),
      avg: r.avg,
      min: r.min,
      max: r.max,
    }));
  },
);

type AlertRow = Pick<
  TelemetryAlertRow,
  | 'alert_id'
  | 'site_id'
  | 'zone_id'
  | 'alert_type'
  | 'threshold'
  | 'value'
  | 'triggered_at'
  | 'status'
>;

export interface CompatAlert {
  alert_id: number;
  site_id: string;
  zone_id: string;
  alert_type: string;
  threshold: number;
  value: number;
  triggered_at: string;
  resolved: boolean;
}

export interface RecentAlert {
  alert_id: number;
  site: string;
  zone: string;
  type: string;
  value: number;
  threshold: number;
  time: string;
}

/** Newest incidents first; `value` is the incident's latest reading. */
async function newestAlerts(sql: Sql, limit: number): Promise<AlertRow[]> {
  return sql<AlertRow[]>`
    select alert_id, site_id, zone_id, alert_type, threshold, value, triggered_at, status
    from telemetry_alerts
    order by triggered_at desc, alert_id desc
    limit ${limit}`;
}

export const selectCompatAlerts = traced(
  'selectCompatAlerts',
  async function selectCompatAlerts(sql: Sql, limit: number): Promise<CompatAlert[]> {
    return (await newestAlerts(sql, limit)).map((r) => ({
      alert_id: r.alert_id,
      site_id: r.site_id,
      zone_id: r.zone_id,
      alert_type: r.alert_type,
      threshold: r.threshold,
      value: r.value,
      triggered_at: r.triggered_at.toISOString(),
      resolved: r.status === 'resolved',
    }));
  },
);

export const selectRecentAlerts = traced(
  'selectRecentAlerts',
  async function selectRecentAlerts(sql: Sql, limit: number): Promise<RecentAlert[]> {
    return (await newestAlerts(sql, limit)).map((r) => ({
      alert_id: r.alert_id,
      site: r.site_id,
      zone: r.zone_id,
      type: r.alert_type,
      value: r.value,
      threshold: r.threshold,
      time: r.triggered_at.toISOString(),
    }));
  },
);

export interface ZoneOccupancy {
  site_id: string;
  zone_id: string;
  occupancy_rate: number;
}

/** Average occupancy per (site, zone) over the 5-minute windows starting since `since`. */
export const selectOccupancy = traced(
  'selectOccupancy',
  async function selectOccupancy(
    sql: Sql,
    { siteId, since }: { siteId?: string | undefined; since: Date },
  ): Promise<ZoneOccupancy[]> {
    const rows = await sql<ZoneOccupancy[]>`
    select site_id, zone_id, (sum(sum_value) / sum(count_events))::float8 as occupancy_rate
    from ${sql(windowOf('5m').table)}
    where sensor_type = 'occupancy' and window_start >= ${since}
      ${siteId === undefined ? sql`` : sql`and site_id = ${siteId}`}
    group by site_id, zone_id
    order by site_id, zone_id`;
    return rows.map((r) => ({ ...r }));
  },
);

export interface DeviceSummary {
  device_id: string;
  avg_temp: number | null;
  max_co2: number | null;
  last_seen: string;
}

/**
 * A device's figures from its raw events: when it was last seen (within `since`, the raw
 * retention), and its average temperature and highest CO2 over the `periodMs` before that.
 * Undefined when it never reported.
 */
export const selectDeviceSummary = traced(
  'selectDeviceSummary',
  async function selectDeviceSummary(
    sql: Sql,
    { deviceId, since, periodMs }: { deviceId: string; since: Date; periodMs: number },
  ): Promise<DeviceSummary | undefined> {
    const [seen] = await sql<{ last_seen: Date }[]>`
    select ts_event as last_seen from telemetry_events
    where device_id = ${deviceId} and ts_event >= ${since}
    order by ts_event desc limit 1`;
    if (!seen) return undefined;
    const from = new Date(Math.max(seen.last_seen.getTime() - periodMs, since.getTime()));
    const [stats] = await sql<{ avg_temp: number | null; max_co2: number | null }[]>`
    select avg(value) filter (where sensor_type = 'temperature') as avg_temp,
           max(value) filter (where sensor_type = 'co2') as max_co2
    from telemetry_events
    where device_id = ${deviceId} and ts_event >= ${from} and ts_event <= ${seen.last_seen}`;
    return {
      device_id: deviceId,
      avg_temp: stats?.avg_temp ?? null,
      max_co2: stats?.max_co2 ?? null,
      last_seen: seen.last_seen.toISOString(),
    };
  },
);
