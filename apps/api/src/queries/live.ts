import type { Sql } from '@telemetrypulse/shared';

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

/** The 5-minute windows of a site whose start lies in [from, to]. */
export async function selectWindows(
  sql: Sql,
  { siteId, from, to }: { siteId: string; from: Date; to: Date },
): Promise<LiveWindow[]> {
  const rows = await sql<
    (Omit<LiveWindow, 'window_start' | 'window_end'> & { window_start: Date; window_end: Date })[]
  >`
    select site_id, zone_id, sensor_type, window_start, window_end, count_events as count,
           avg_value as avg, min_value as min, max_value as max
    from telemetry_agg_5m
    where site_id = ${siteId} and window_start >= ${from} and window_start <= ${to}
    order by window_start, zone_id, sensor_type`;
  return rows.map((r) => ({
    ...r,
    window_start: r.window_start.toISOString(),
    window_end: r.window_end.toISOString(),
  }));
}
