import { Type } from '@sinclair/typebox';
import type { Sql } from '@telemetrypulse/shared';
import { conditionalResponses, sendJson } from '../http/json-body.ts';
import { decodeCursor, encodeCursor } from '../http/page-cursor.ts';
import { conflict, invalidParameter, notFound } from '../http/problem.ts';
import type { ResponseCache } from '../http/response-cache.ts';
import type { ApiRouter } from '../http/route.ts';
import {
  applyAlertAction,
  selectAlert,
  selectAlerts,
  type AlertAction,
} from '../queries/alerts.ts';
import {
  AlertStatus,
  MultilineText,
  Nullable,
  SensorType,
  Severity,
  SiteId,
  Text,
  Timestamp,
  ZoneId,
} from '../schemas.ts';

export const AlertSchema = Type.Object(
  {
    alert_id: Type.Integer(),
    site_id: Type.String(),
    zone_id: Type.String(),
    sensor_type: SensorType,
    alert_type: Type.String(),
    severity: Severity,
    status: AlertStatus,
    threshold: Type.Number(),
    value: Type.Number({ description: 'the latest reading of the incident' }),
    peak_value: Type.Number(),
    event_count: Type.Integer(),
    triggered_at: Timestamp,
    last_seen_at: Timestamp,
    resolved_at: Nullable(Timestamp),
    acknowledged_at: Nullable(Timestamp),
    acknowledged_by: Nullable(Type.String()),
    resolved_by: Nullable(Type.String()),
    comment: Nullable(Type.String()),
    updated_at: Timestamp,
  },
  { title: 'Alert' },
);

const AlertsQuery = Type.Object({
  status: Type.Optional(AlertStatus),
  site_id: Type.Optional(SiteId),
  zone_id: Type.Optional(ZoneId),
  severity: Type.Optional(Severity),
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  cursor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'next_cursor of the previous page, as it was returned',
    }),
  ),
});

const AlertPage = Type.Object({
  items: Type.Array(AlertSchema),
  next_cursor: Nullable(
    Type.String({ description: 'pass as cursor for the next page; null on the last page' }),
  ),
});

const AlertIdParams = Type.Object({
  alert_id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
});

const ActionBody = Type.Object(
  {
    by: Text({ minLength: 1, maxLength: 128, description: 'who acts' }),
    comment: Type.Optional(MultilineText({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

const PAGE_CACHE_PREFIX = 'alerts:';

export function alertRoutes(
  api: ApiRouter,
  { sql, cache }: { sql: Sql; cache: ResponseCache },
): void {
  api.route(
    {
      method: 'get',
      path: '/api/v1/alerts',
      operationId: 'listAlerts',
      summary: 'Alerts, newest first, filtered and paginated with an opaque cursor',
      description:
        'Pages are cached like the other polled views (READ_CACHE_TTL_MS); an acknowledge or ' +
        'resolve through the same API instance shows at once, the live stream has every change.',
      tags: ['alerts'],
      access: 'read',
      query: AlertsQuery,
      responses: conditionalResponses({ description: 'one page', schema: AlertPage }),
    },
    async ({ query }, _req, res) => {
      const from = query.from === undefined ? undefined : new Date(query.from);
      const to = query.to === undefined ? undefined : new Date(query.to);
      if (from && to && from >= to) throw invalidParameter('from', 'from must be before to');
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const body = await cache.json(`${PAGE_CACHE_PREFIX}${JSON.stringify(query)}`, async () => {
        const items = await selectAlerts(sql, {
          status: query.status,
          siteId: query.site_id,
          zoneId: query.zone_id,
          severity: query.severity,
          from,
          to,
          after,
          limit: query.limit,
        });
        const last = items.at(-1);
        return {
          items,
          next_cursor:
            last && items.length === query.limit
              ? encodeCursor({ timeMs: Date.parse(last.triggered_at), id: last.alert_id })
              : null,
        };
      });
      await sendJson(res, body);
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/v1/alerts/{alert_id}',
      operationId: 'getAlert',
      summary: 'One alert',
      tags: ['alerts'],
      access: 'read',
      params: AlertIdParams,
      responses: {
        200: { description: 'the alert', schema: AlertSchema },
        404: { description: 'no such alert' },
      },
    },
    async ({ params }, _req, res) => {
      const alert = await selectAlert(sql, params.alert_id);
      if (!alert) throw notFound(`alert ${params.alert_id} does not exist`);
      res.json(alert);
    },
  );

  const actions: [AlertAction, string][] = [
    ['acknowledge', 'Acknowledge an open alert (409 unless it is open)'],
    ['resolve', 'Resolve an alert by hand (409 when it is resolved already)'],
  ];
  for (const [action, summary] of actions) {
    api.route(
      {
        method: 'post',
        path: `/api/v1/alerts/{alert_id}/${action}`,
        operationId: `${action}Alert`,
        summary,
        description: 'Records who acted, when, and the comment (if any).',
        tags: ['alerts'],
        access: 'write',
        params: AlertIdParams,
        body: ActionBody,
        responses: {
          200: { description: 'the alert after the change', schema: AlertSchema },
          404: { description: 'no such alert' },
          409: { description: 'the alert is not in a state that allows this' },
        },
      },
      async ({ params, body }, _req, res) => {
        const result = await applyAlertAction(sql, {
          alertId: params.alert_id,
          action,
          by: body.by,
          comment: body.comment,
        });
        if (result.outcome === 'missing') throw notFound(`alert ${params.alert_id} does not exist`);
        if (result.outcome === 'conflict') {
          throw conflict(`alert ${params.alert_id} is ${result.status}; cannot ${action} it`);
        }
        cache.forget(PAGE_CACHE_PREFIX);
        res.json(result.alert);
      },
    );
  }
}
