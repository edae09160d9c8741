import { Type } from '@sinclair/typebox';
import { DAY_MS, type Sql, WINDOW_NAMES, windowOf, windowStart } from '@telemetrypulse/shared';
import { conditionalResponses, sendJson } from '../http/json-body.ts';
import { periodFrom } from '../http/period.ts';
import { invalidParameter } from '../http/problem.ts';
import type { ResponseCache } from '../http/response-cache.ts';
import type { ApiRouter } from '../http/route.ts';
import {
  alignUp,
  selectAggregateSeries,
  selectDeviceSeries,
  type Bucket,
} from '../queries/series.ts';
import {
  DeviceId,
  Nullable,
  SensorType,
  SiteId,
  StringEnum,
  Timestamp,
  ZoneId,
} from '../schemas.ts';

/** More points than a chart can show; a finer bucket over a longer period is a 400. */
export const MAX_POINTS = 2000;
/** Aggregates are kept longer than raw events; a year of daily points is a sensible ceiling. */
const MAX_SPAN_MS = 366 * DAY_MS;

const SeriesQuery = Type.Object({
  site_id: SiteId,
  zone_id: Type.Optional(ZoneId),
  device_id: Type.Optional(DeviceId),
  sensor_type: SensorType,
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
  bucket: StringEnum(WINDOW_NAMES, { default: '5m' }),
});

const Series = Type.Object(
  {
    site_id: Type.String(),
    zone_id: Nullable(Type.String()),
    device_id: Nullable(Type.String()),
    sensor_type: SensorType,
    bucket: StringEnum(WINDOW_NAMES),
    from: Timestamp,
    to: Timestamp,
    points: Type.Array(
      Type.Object({
        start: Timestamp,
        count: Type.Integer(),
        avg: Type.Number(),
        min: Type.Number(),
        max: Type.Number(),
      }),
    ),
  },
  { title: 'Series' },
);

export interface SeriesRoutesOptions {
  sql: Sql;
  now: () => number;
  cache: ResponseCache;
  /**
   * How long a series of 1h or 1d buckets is cached (at least the cache's TTL): of a long series
   * only the newest bucket changes, and the query and its serialization grow with the period.
   */
  coarseTtlMs: number;
}

/** Buckets whose series are cached for `coarseTtlMs`. */
const COARSE: ReadonlySet<Bucket> = new Set(['1h', '1d']);

export function seriesRoutes(
  api: ApiRouter,
  { sql, now, cache, coarseTtlMs }: SeriesRoutesOptions,
): void {
  api.route(
    {
      method: 'get',
      path: '/api/v1/series',
      operationId: 'series',
      summary: 'A time series of a sensor at a site, zone or device, in buckets',
      description:
        'from defaults to 24 hours before to, to to now; both are rounded out to bucket ' +
        'boundaries (epoch-aligned, UTC). Buckets of 1h and 1d are rolled up exactly from the ' +
        `15-minute windows (through their hourly rollup). At most ${MAX_POINTS} buckets; a device series reads raw events ` +
        'and spans at most 31 days. Answers are cached like the other polled views ' +
        '(READ_CACHE_TTL_MS), series of 1h and 1d buckets longer (READ_CACHE_COARSE_TTL_MS): ' +
        'their newest bucket may be that much older than the data. Answers carry an ETag; ' +
        'a request with If-None-Match holding it gets 304 while the series is unchanged.',
      tags: ['series'],
      access: 'read',
      query: SeriesQuery,
      responses: conditionalResponses({
        description: 'the series, oldest bucket first',
        schema: Series,
      }),
    },
    async ({ query }, _req, res) => {
      const bucketMs = windowOf(query.bucket).ms;
      const maxMs = query.device_id === undefined ? MAX_SPAN_MS : 31 * DAY_MS;
      const period = periodFrom(query, { now: now(), defaultMs: DAY_MS, maxMs });
      const from = new Date(windowStart(period.from.getTime(), bucketMs));
      const to = new Date(alignUp(period.to.getTime(), bucketMs));
      const buckets = (to.getTime() - from.getTime()) / bucketMs;
      if (buckets > MAX_POINTS) {
        throw invalidParameter(
          'bucket',
          `${buckets} buckets of ${query.bucket} exceed ${MAX_POINTS}: choose a coarser bucket or a shorter period`,
        );
      }
      const filter = {
        siteId: query.site_id,
        zoneId: query.zone_id,
        sensorType: query.sensor_type,
        from,
        to,
        bucket: query.bucket,
      };
      const deviceId = query.device_id;
      // Rounded to bucket boundaries, the same view asked for by many screens is one key.
      const key = `series:${JSON.stringify({ ...query, from, to })}`;
      const ttlMs = COARSE.has(query.bucket) ? coarseTtlMs : undefined;
      const body = await cache.json(
        key,
        async () => ({
          site_id: query.site_id,
          zone_id: query.zone_id ?? null,
          device_id: deviceId ?? null,
          sensor_type: query.sensor_type,
          bucket: query.bucket,
          from: from.toISOString(),
          to: to.toISOString(),
          points:
            deviceId === undefined
              ? await selectAggregateSeries(sql, filter)
              : await selectDeviceSeries(sql, { ...filter, deviceId }),
        }),
        ttlMs,
      );
      await sendJson(res, body);
    },
  );
}
