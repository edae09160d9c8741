import { Type } from '@sinclair/typebox';
import type { Sql } from '@telemetrypulse/shared';
import { HOUR_MS } from '@telemetrypulse/shared';
import { conditionalResponses, sendJson } from '../http/json-body.ts';
import { notFound } from '../http/problem.ts';
import type { ResponseCache } from '../http/response-cache.ts';
import type { ApiRouter } from '../http/route.ts';
import { selectLatestReadings, selectSites } from '../queries/sites.ts';
import { Nullable, SensorType, SiteId, Timestamp } from '../schemas.ts';

const SiteSummary = Type.Object(
  {
    site_id: Type.String(),
    display_name: Nullable(Type.String()),
    zone_count: Type.Integer({ description: 'zones that reported in the last hour' }),
    device_count: Type.Integer({ description: 'devices that reported in the last hour' }),
    last_event_at: Nullable(Timestamp),
    open_alert_count: Type.Integer({ description: 'alerts open or acknowledged' }),
  },
  { title: 'SiteSummary' },
);

const ZoneLatest = Type.Object({
  zone_id: Type.String(),
  readings: Type.Array(
    Type.Object({
      sensor_type: SensorType,
      value: Type.Number(),
      device_id: Type.String(),
      ts_event: Timestamp,
    }),
  ),
});

const SiteDetail = Type.Object(
  { ...SiteSummary.properties, zones: Type.Array(ZoneLatest) },
  { title: 'SiteDetail' },
);

export interface SiteRoutesOptions {
  sql: Sql;
  now: () => number;
  cache: ResponseCache;
}

// Both views scan the last hour of aggregates and raw rows: cached like the other polled views
// (READ_CACHE_TTL_MS), so a burst of them costs the database one query per view and period.
export function siteRoutes(api: ApiRouter, { sql, now, cache }: SiteRoutesOptions): void {
  api.route(
    {
      method: 'get',
      path: '/api/v1/sites',
      operationId: 'listSites',
      summary: 'Sites with zone and device counts, last event time and open alerts',
      tags: ['sites'],
      access: 'read',
      responses: conditionalResponses({ description: 'sites', schema: Type.Array(SiteSummary) }),
    },
    async (_input, _req, res) => {
      const body = await cache.json('sites:', () =>
        selectSites(sql, { activeSince: new Date(now() - HOUR_MS) }),
      );
      await sendJson(res, body);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/v1/sites/{site_id}',
      operationId: 'getSite',
      summary: 'One site with its zones and the latest reading per zone and sensor (last hour)',
      tags: ['sites'],
      access: 'read',
      params: Type.Object({ site_id: SiteId }),
      responses: {
        ...conditionalResponses({ description: 'the site', schema: SiteDetail }),
        404: { description: 'no such site' },
      },
    },
    async ({ params }, _req, res) => {
      // An unknown site throws: failures are not cached, so it is known as soon as it reports.
      const body = await cache.json(`site:${params.site_id}`, async () => {
        const since = new Date(now() - HOUR_MS);
        const [site] = await selectSites(sql, { siteId: params.site_id, activeSince: since });
        if (!site) throw notFound(`site ${params.site_id} is not known`);
        const zones = await selectLatestReadings(sql, { siteId: params.site_id, since });
        return { ...site, zones };
      });
      await sendJson(res, body);
    },
  );
}
