import {
  sourceWindow,
  windowOf,
  windowStart,
  type Sql,
  type WindowName,
} from '@telemetrypulse/shared';
import { traced } from './db-span.ts';

/** A series bucket: one of the windows, epoch-aligned as they are. */
export type Bucket = WindowName;

export interface SeriesPoint {
  /** Bucket start, ISO-8601 UTC. */
  start: string;
  count: number;
  avg: number;
  min: number;
  max: number;
}

export interface SeriesFilter {
  siteId: string;
  zoneId?: string | undefined;
  deviceId?: string | undefined;
  sensorType: string;
  /** Bucket-aligned, inclusive. */
  from: Date;
  /** Bucket-aligned, exclusive. */
  to: Date;
  bucket: Bucket;
}

/** Rounds up to a bucket boundary: the end of the bucket holding `ms`, unless it starts there. */
export function alignUp(ms: number, bucketMs: number): number {
  const down = windowStart(ms, bucketMs);
  return down === ms ? ms : down + bucketMs;
}

interface PointRow {
  start: Date;
  count: number;
  avg: number;
  min: number;
  max: number;
}

const toPoint = (r: PointRow): SeriesPoint => ({
  start: r.start.toISOString(),
  count: r.count,
  avg: r.avg,
  min: r.min,
  max: r.max,
});

/**
 * Buckets of a sensor at a site (optionally one zone), rolled up exactly from the stored windows
 * (5m, 15m, and the hourly rollup of the 15m windows): sums and counts add up, min of mins, max
 * of maxes, never an average of averages.
 */
export const selectAggregateSeries = traced(
  'selectAggregateSeries',
  async function selectAggregateSeries(sql: Sql, f: SeriesFilter): Promise<SeriesPoint[]> {
    const table = sql(sourceWindow(f.bucket).table);
    const width = windowOf(f.bucket).interval;
    const rows = await sql<PointRow[]>`
    select date_bin(${width}::interval, window_start, timestamptz '1970-01-01 00:00:00+00') as start,
           sum(count_events)::bigint as count,
           (sum(sum_value) / sum(count_events))::float8 as avg,
           min(min_value) as min, max(max_value) as max
    from ${table}
    where site_id = ${f.siteId} and sensor_type = ${f.sensorType}
      ${f.zoneId === undefined ? sql`` : sql`and zone_id = ${f.zoneId}`}
      and window_start >= ${f.from} and window_start < ${f.to}
    group by 1 order by 1`;
    return rows.map(toPoint);
  },
);

/** Buckets of one device's raw events. */
export const selectDeviceSeries = traced(
  'selectDeviceSeries',
  async function selectDeviceSeries(
    sql: Sql,
    f: SeriesFilter & { deviceId: string },
  ): Promise<SeriesPoint[]> {
    const width = windowOf(f.bucket).interval;
    const rows = await sql<PointRow[]>`
    select date_bin(${width}::interval, ts_event, timestamptz '1970-01-01 00:00:00+00') as start,
           count(*)::bigint as count, avg(value) as avg, min(value) as min, max(value) as max
    from telemetry_events
    where device_id = ${f.deviceId} and sensor_type = ${f.sensorType}
      and site_id = ${f.siteId}
      ${f.zoneId === undefined ? sql`` : sql`and zone_id = ${f.zoneId}`}
      and ts_event >= ${f.from} and ts_event < ${f.to}
    group by 1 order by 1`;
    return rows.map(toPoint);
  },
);
