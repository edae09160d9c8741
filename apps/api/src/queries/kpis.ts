import { windowOf, type Sql } from '@telemetrypulse/shared';
import { traced } from './db-span.ts';

/** One row of `GET /kpis/live`; field names are the compat routes'. */
export interface LiveKpi {
  site_id: string;
  zone_id: string;
  sensor_type: string;
  current_avg: number;
  current_max: number;
  sample_count: number;
  /** End of the window, ISO-8601 UTC. */
  last_updated: string;
}

interface LiveKpiRow {
  site_id: string;
  zone_id: string;
  sensor_type: string;
  current_avg: number;
  current_max: number;
  sample_count: number | string | bigint;
  last_updated: Date;
}

export interface LiveKpiFilter {
  siteId?: string | undefined;
  /** Windows starting before this are ignored, so the query reads recent rows, not all history. */
  since: Date;
}

/** The latest 5-minute window of every (site, zone, sensor) that reported since `since`. */
export const selectLiveKpis = traced(
  'selectLiveKpis',
  async function selectLiveKpis(sql: Sql, { siteId, since }: LiveKpiFilter): Promise<LiveKpi[]> {
    const rows = await sql<LiveKpiRow[]>`
    select distinct on (site_id, zone_id, sensor_type)
      site_id, zone_id, sensor_type,
      avg_value as current_avg,
      max_value as current_max,
      count_events as sample_count,
      window_end as last_updated
    from ${sql(windowOf('5m').table)}
    where window_start >= ${since}
      ${siteId === undefined ? sql`` : sql`and site_id = ${siteId}`}
    order by site_id, zone_id, sensor_type, window_start desc
  `;
    return rows.map((row) => ({
      site_id: row.site_id,
      zone_id: row.zone_id,
      sensor_type: row.sensor_type,
      current_avg: row.current_avg,
      current_max: row.current_max,
      // bigint: a number only if the client was built by createSql; do not depend on that here.
      sample_count: Number(row.sample_count),
      last_updated: row.last_updated.toISOString(),
    }));
  },
);
