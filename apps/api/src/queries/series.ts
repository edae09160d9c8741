import type { Sql } from '@telemetrypulse/shared';
import { traced } from './db-span.ts';

export const BUCKETS = {
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
} as const;
export type Bucket = keyof typeof BUCKETS;

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

/** Rounds down to a bucket boundary; buckets are aligned to the epoch, as the windows are. */
export function alignDown(ms: number, bucketMs: number): number {
  return ms - (((ms % bucketMs) + bucketMs) % bucketMs);
}

export function alignUp(ms: number, bucketMs: number): number {
  const down = alignDown(ms, bucketMs);
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

/** The finest stored windows that a bucket is a whole number of. */
const SOURCE: Record<Bucket, string> = {
  '5m': 'telemetry_agg_5m',
  '15m': 'telemetry_agg_15m',
  '1h': 'telemetry_agg_1h',
  '1d': 'telemetry_agg_1h',
};

/**
 * Buckets of a sensor at a site (optionally one zone), rolled up exactly from the stored windows
 * (5m, 15m, and the hourly rollup of the 15m windows): sums and counts add up, min of mins, max
 * of maxes, never an average of averages.
 */
export const selectAggregateSeries = traced(
  'selectAggregateSeries',
  async function selectAggregateSeries(sql: Sql, f: SeriesFilter): Promise<SeriesPoint[]> {
    const table = sql(SOURCE[f.bucket]);
    const width = `${BUCKETS[f.bucket] / 60_000} minutes`;
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
    const width = `${BUCKETS[f.bucket] / 60_000} minutes`;
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
