import { Type } from '@sinclair/typebox';
import type { Sql } from '@telemetrypulse/shared';
import { DAY_MS } from '@telemetrypulse/shared';
import { conditionalResponses, sendJson } from '../http/json-body.ts';
import { periodFrom } from '../http/period.ts';
import { notFound } from '../http/problem.ts';
import type { ResponseCache } from '../http/response-cache.ts';
import type { ApiRouter } from '../http/route.ts';
import { selectDevice } from '../queries/devices.ts';
import { DeviceId, SensorType, Timestamp } from '../schemas.ts';

const DeviceDetail = Type.Object(
  {
    device_id: Type.String(),
    site_id: Type.String(),
    zone_id: Type.String(),
    last_seen: Timestamp,
    latest: Type.Array(
      Type.Object({ sensor_type: SensorType, value: Type.Number(), ts_event: Timestamp }),
    ),
    stats: Type.Object({
      from: Timestamp,
      to: Timestamp,
      sensors: Type.Array(
        Type.Object({
          sensor_type: SensorType,
          count: Type.Integer(),
          avg: Type.Number(),
          min: Type.Number(),
          max: Type.Number(),
        }),
      ),
    }),
  },
  { title: 'Device' },
);

export interface DeviceRoutesOptions {
  sql: Sql;
  now: () => number;
  /** How far back a device's last reading is searched: the raw retention. */
  lookbackMs: number;
  /** Polled views are cached (READ_CACHE_TTL_MS): the lookback scans raw rows. */
  cache: ResponseCache;
}

export function deviceRoutes(
  api: ApiRouter,
  { sql, now, lookbackMs, cache }: DeviceRoutesOptions,
): void {
  api.route(
    {
      method: 'get',
      path: '/api/v1/devices/{device_id}',
      operationId: 'getDevice',
      summary: 'A device: latest value per sensor, last seen, and stats over a period',
      description: 'The period defaults to the 24 hours before now and spans at most 31 days.',
      tags: ['devices'],
      access: 'read',
      params: Type.Object({ device_id: DeviceId }),
      query: Type.Object({ from: Type.Optional(Timestamp), to: Type.Optional(Timestamp) }),
      responses: {
        ...conditionalResponses({ description: 'the device', schema: DeviceDetail }),
        404: { description: 'the device never reported' },
      },
    },
    async ({ params, query }, _req, res) => {
      const current = now();
      const period = periodFrom(query, { now: current, defaultMs: DAY_MS, maxMs: 31 * DAY_MS });
      const key = `device:${JSON.stringify([params.device_id, query.from, query.to])}`;
      const body = await cache.json(key, async () => {
        const device = await selectDevice(sql, {
          deviceId: params.device_id,
          since: new Date(current - lookbackMs),
          ...period,
        });
        if (!device) throw notFound(`device ${params.device_id} has not reported`);
        return device;
      });
      await sendJson(res, body);
    },
  );
}
