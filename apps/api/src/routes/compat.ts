import { Type } from '@sinclair/typebox';
import type { Sql } from '@telemetrypulse/shared';
import { HOUR_MS } from '@telemetrypulse/shared';
import { conditionalResponses, sendJson } from '../http/json-body.ts';
import { notFound } from '../http/problem.ts';
import type { ResponseCache } from '../http/response-cache.ts';
import type { ApiRouter } from '../http/route.ts';
import {
  selectDeviceSummary,
  selectCompatAlerts,
  selectOccupancy,
  selectRecentAlerts,
  selectTrend,
  TREND_WINDOWS,
} from '../queries/compat.ts';
import { selectLiveKpis } from '../queries/kpis.ts';
import {
  DeviceId,
  Nullable,
  SensorType,
  SiteId,
  StringEnum,
  Timestamp,
  ZoneId,
} from '../schemas.ts';

// The compat routes: the original system's paths, parameters, defaults and field names, as its
// clients know them.

/** A site id here is what the event contract accepts, so every stored site can be asked for. */
export const LiveKpisQuery = Type.Object({ site_id: Type.Optional(SiteId) });

const LiveKpi = Type.Object({
  site_id: Type.String(),
  zone_id: Type.String(),
  sensor_type: Type.String(),
  current_avg: Type.Number(),
  current_max: Type.Number(),
  sample_count: Type.Integer(),
  last_updated: Timestamp,
});

export const TrendsQuery = Type.Object({
  sensor_type: SensorType,
  zone_id: Type.Optional(ZoneId),
  site_id: Type.Optional(SiteId),
  window: StringEnum(TREND_WINDOWS, { default: '5m' }),
});

const TrendPoint = Type.Object({
  timestamp: Timestamp,
  avg: Type.Number(),
  min: Type.Number(),
  max: Type.Number(),
});

const limit = (fallback: number) => Type.Integer({ minimum: 1, maximum: 1000, default: fallback });

const RecentAlert = Type.Object({
  alert_id: Type.Integer(),
  site: Type.String(),
  zone: Type.String(),
  type: Type.String(),
  value: Type.Number(),
  threshold: Type.Number(),
  time: Timestamp,
});

const CompatAlert = Type.Object({
  alert_id: Type.Integer(),
  site_id: Type.String(),
  zone_id: Type.String(),
  alert_type: Type.String(),
  threshold: Type.Number(),
  value: Type.Number(),
  triggered_at: Timestamp,
  resolved: Type.Boolean(),
});

const ZoneOccupancy = Type.Object({
  site_id: Type.String(),
  zone_id: Type.String(),
  occupancy_rate: Type.Number(),
});

const DeviceSummary = Type.Object({
  device_id: Type.String(),
  avg_temp: Nullable(Type.Number()),
  max_co2: Nullable(Type.Number()),
  last_seen: Timestamp,
});

export interface CompatRoutesOptions {
  sql: Sql;
  now: () => number;
  /** How far back `/kpis/live` looks. */
  liveLookbackMs: number;
  /** How far back a device's last reading is searched: the raw retention. */
  deviceLookbackMs: number;
  /** For the views dashboards poll. */
  cache: ResponseCache;
}

/** The compat routes' OpenAPI tag, as published: generated clients group operations by it. */
export const COMPAT_TAG = 'original';
const TAGS = [COMPAT_TAG];

export function compatRoutes(api: ApiRouter, options: CompatRoutesOptions): void {
  const { sql, now, cache } = options;

  api.route(
    {
      method: 'get',
      path: '/kpis/live',
      operationId: 'liveKpis',
      summary: 'Latest 5-minute window per site, zone and sensor',
      tags: TAGS,
      access: 'read',
      query: LiveKpisQuery,
      responses: conditionalResponses({
        description: 'latest windows',
        schema: Type.Array(LiveKpi),
      }),
    },
    async ({ query }, _req, res) => {
      const body = await cache.json(`kpis:${query.site_id ?? ''}`, () =>
        selectLiveKpis(sql, {
          siteId: query.site_id,
          since: new Date(now() - options.liveLookbackMs),
        }),
      );
      await sendJson(res, body);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/trends',
      operationId: 'trends',
      summary: 'The newest 100 windows of a sensor, newest first',
      description: 'Zones (and sites) sharing a window are merged exactly from sums and counts.',
      tags: TAGS,
      access: 'read',
      query: TrendsQuery,
      responses: conditionalResponses({ description: 'windows', schema: Type.Array(TrendPoint) }),
    },
    async ({ query }, _req, res) => {
      const body = await cache.json(`trends:${JSON.stringify(query)}`, () =>
        selectTrend(sql, {
          sensorType: query.sensor_type,
          zoneId: query.zone_id,
          siteId: query.site_id,
          window: query.window,
          limit: 100,
        }),
      );
      await sendJson(res, body);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/alerts/recent',
      operationId: 'recentAlerts',
      summary: 'The newest alerts, short field names',
      tags: TAGS,
      access: 'read',
      query: Type.Object({ limit: limit(20) }),
      responses: { 200: { description: 'alerts', schema: Type.Array(RecentAlert) } },
    },
    async ({ query }, _req, res) => {
      res.json(await selectRecentAlerts(sql, query.limit));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/alerts',
      operationId: 'legacyAlerts',
      summary: 'The newest alerts; resolved is true once the incident is over',
      tags: TAGS,
      access: 'read',
      query: Type.Object({ limit: limit(10) }),
      responses: { 200: { description: 'alerts', schema: Type.Array(CompatAlert) } },
    },
    async ({ query }, _req, res) => {
      res.json(await selectCompatAlerts(sql, query.limit));
    },
  );

  api.route(
    {
      method: 'get',
      path: '/utilization/heatmap',
      operationId: 'occupancyHeatmap',
      summary: 'Average occupancy per site and zone over the last hour',
      tags: TAGS,
      access: 'read',
      query: Type.Object({ site_id: Type.Optional(SiteId) }),
      responses: conditionalResponses({ description: 'zones', schema: Type.Array(ZoneOccupancy) }),
    },
    async ({ query }, _req, res) => {
      const body = await cache.json(`heatmap:${query.site_id ?? ''}`, () =>
        selectOccupancy(sql, { siteId: query.site_id, since: new Date(now() - HOUR_MS) }),
      );
      await sendJson(res, body);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/devices/{device_id}',
      operationId: 'deviceSummary',
      summary: "A device's average temperature and highest CO2 over its last 24 hours",
      description:
        'From raw events: last_seen is its newest reading within the raw retention; avg_temp ' +
        'and max_co2 cover the 24 hours up to last_seen (null when it reported no such sensor).',
      tags: TAGS,
      access: 'read',
      params: Type.Object({ device_id: DeviceId }),
      responses: {
        ...conditionalResponses({ description: 'the device', schema: DeviceSummary }),
        404: { description: 'the device never reported' },
      },
    },
    async ({ params }, _req, res) => {
      const body = await cache.json(`device-summary:${params.device_id}`, async () => {
        const summary = await selectDeviceSummary(sql, {
          deviceId: params.device_id,
          since: new Date(now() - options.deviceLookbackMs),
          periodMs: 24 * HOUR_MS,
        });
        if (!summary) throw notFound(`device ${params.device_id} has not reported`);
        return summary;
      });
      await sendJson(res, body);
    },
  );
}
