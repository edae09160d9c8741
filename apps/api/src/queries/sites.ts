import type { Sql, TelemetryEventRow } from '@telemetrypulse/shared';
import { traced } from './db-span.ts';

export interface SiteSummary {
  site_id: string;
  display_name: string | null;
  zone_count: number;
  device_count: number;
  last_event_at: string | null;
  open_alert_count: number;
}

interface SiteRow extends Omit<SiteSummary, 'last_event_at'> {
  last_event_at: Date | null;
}

/**
 * Sites of the registry. Zones and devices are those that reported since `activeSince` (raw
 * events of the recent past are cheap to read; the registry's spec may be empty for sites the
 * processor discovered). Open alerts are those not resolved (open or acknowledged).
 */
export const selectSites = traced(
  'selectSites',
  async function selectSites(
    sql: Sql,
    { siteId, activeSince }: { siteId?: string; activeSince: Date },
  ): Promise<SiteSummary[]> {
    const rows = await sql<SiteRow[]>`
    select s.site_id, s.display_name, s.last_event_at,
           coalesce(a.zone_count, 0)::int as zone_count,
           coalesce(a.device_count, 0)::int as device_count,
           coalesce(o.open_alert_count, 0)::int as open_alert_count
    from sites s
    left join lateral (
      select count(distinct zone_id) as zone_count, count(distinct device_id) as device_count
      from telemetry_events e where e.site_id = s.site_id and e.ts_event >= ${activeSince}
    ) a on true
    left join lateral (
      select count(*) as open_alert_count from telemetry_alerts t
      where t.site_id = s.site_id and t.status <> 'resolved'
    ) o on true
    ${siteId === undefined ? sql`` : sql`where s.site_id = ${siteId}`}
    order by s.site_id`;
    return rows.map((r) => ({ ...r, last_event_at: r.last_event_at?.toISOString() ?? null }));
  },
);

export interface ZoneReading {
  sensor_type: string;
  value: number;
  device_id: string;
  ts_event: string;
}

export interface ZoneLatest {
  zone_id: string;
  readings: ZoneReading[];
}

/** The latest raw reading per zone and sensor of a site since `since`. */
export const selectLatestReadings = traced(
  'selectLatestReadings',
  async function selectLatestReadings(
    sql: Sql,
    { siteId, since }: { siteId: string; since: Date },
  ): Promise<ZoneLatest[]> {
    const rows = await sql<
      Pick<TelemetryEventRow, 'zone_id' | 'sensor_type' | 'value' | 'device_id' | 'ts_event'>[]
    >`
    select distinct on (zone_id, sensor_type) zone_id, sensor_type, value, device_id, ts_event
    from telemetry_events
    where site_id = ${siteId} and ts_event >= ${since}
    order by zone_id, sensor_type, ts_event desc`;
    const zones = new Map<string, ZoneReading[]>();
    for (const r of rows) {
      const readings = zones.get(r.zone_id) ?? [];
      readings.push({
        sensor_type: r.sensor_type,
        value: r.value,
        device_id: r.device_id,
        ts_event: r.ts_event.toISOString(),
      });
      zones.set(r.zone_id, readings);
    }
    return [...zones].map(([zone_id, readings]) => ({ zone_id, readings }));
  },
);
