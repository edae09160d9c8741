import { SENSOR_TYPES, type Sql, type TelemetryEventRow } from '@telemetrypulse/shared';
import { traced } from './db-span.ts';

export interface SensorLatest {
  sensor_type: string;
  value: number;
  ts_event: string;
}

export interface SensorStats {
  sensor_type: string;
  count: number;
  avg: number;
  min: number;
  max: number;
}

export interface DeviceDetail {
  device_id: string;
  site_id: string;
  zone_id: string;
  last_seen: string;
  latest: SensorLatest[];
  stats: { from: string; to: string; sensors: SensorStats[] };
}

/**
 * A device from its raw events: its newest reading per sensor (within `since`, the retention),
 * and count/avg/min/max per sensor over [from, to). Undefined when it never reported.
 */
export const selectDevice = traced(
  'selectDevice',
  async function selectDevice(
    sql: Sql,
    { deviceId, since, from, to }: { deviceId: string; since: Date; from: Date; to: Date },
  ): Promise<DeviceDetail | undefined> {
    // One index probe per sensor kind rather than a scan over the device's whole history.
    const latest = await sql<
      Pick<TelemetryEventRow, 'site_id' | 'zone_id' | 'sensor_type' | 'value' | 'ts_event'>[]
    >`
    select l.* from unnest(${[...SENSOR_TYPES]}::text[]) as s(sensor_type)
    cross join lateral (
      select site_id, zone_id, sensor_type, value, ts_event from telemetry_events
      where device_id = ${deviceId} and sensor_type = s.sensor_type and ts_event >= ${since}
      order by ts_event desc limit 1
    ) l
    order by l.sensor_type`;
    const newest = latest.reduce<(typeof latest)[number] | undefined>(
      (best, r) => (best === undefined || r.ts_event > best.ts_event ? r : best),
      undefined,
    );
    if (!newest) return undefined;
    const stats = await sql<SensorStats[]>`
    select sensor_type, count(*)::int as count, avg(value) as avg, min(value) as min,
           max(value) as max
    from telemetry_events
    where device_id = ${deviceId} and ts_event >= ${from} and ts_event < ${to}
    group by sensor_type order by sensor_type`;
    return {
      device_id: deviceId,
      site_id: newest.site_id,
      zone_id: newest.zone_id,
      last_seen: newest.ts_event.toISOString(),
      latest: latest.map((r) => ({
        sensor_type: r.sensor_type,
        value: r.value,
        ts_event: r.ts_event.toISOString(),
      })),
      stats: {
        from: from.toISOString(),
        to: to.toISOString(),
        sensors: stats.map((s) => ({ ...s })),
      },
    };
  },
);
