import { randomUUID } from 'node:crypto';
import {
  deviceId,
  SENSOR_TYPES,
  STORED_WINDOWS,
  type StoredWindow,
  type TelemetryEvent,
} from '@telemetrypulse/shared';
import type { TestDatabase } from '../../devstack/src/test/database.ts';

/** Raw rows and distinct event ids: equal when nothing was stored twice. */
export async function rawCounts(
  db: Pick<TestDatabase, 'sql'>,
): Promise<{ rows: number; distinct: number }> {
  const [row] = await db.sql<{ rows: number; distinct: number }[]>`
    select count(*)::int as rows, count(distinct event_id)::int as distinct from telemetry_events`;
  return row ?? { rows: 0, distinct: 0 };
}

/** Rows where a stored aggregate and a recomputation from raw events disagree, both ways. */
export async function aggregateMismatches(
  db: Pick<TestDatabase, 'sql'>,
  { table, interval }: StoredWindow,
): Promise<unknown[]> {
  const rows = await db.sql`
    with recomputed as (
      select site_id, zone_id, sensor_type,
             date_bin(${interval}::interval, ts_event, timestamptz '1970-01-01 00:00:00+00') as window_start,
             count(*) as count_events, sum(value::numeric) as sum_value,
             min(value) as min_value, max(value) as max_value
      from telemetry_events group by 1, 2, 3, 4
    ), stored as (
      select site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value
      from ${db.sql(table)}
    )
    (select 'missing or wrong in aggregates' as problem, * from (table recomputed except table stored) a)
    union all
    (select 'not backed by raw events' as problem, * from (table stored except table recomputed) b)`;
  return [...rows];
}

/** aggregateMismatches of every window table, each row tagged with its table. */
export async function windowMismatches(db: Pick<TestDatabase, 'sql'>): Promise<unknown[]> {
  const found = await Promise.all(
    STORED_WINDOWS.map(async (window) =>
      (await aggregateMismatches(db, window)).map((row) => ({ table: window.table, row })),
    ),
  );
  return found.flat();
}

/** Valid events of one site spread over the last `spanMs`, values inside the normal bands. */
export function syntheticEvents(
  count: number,
  siteId: string,
  spanMs = 30 * 60_000,
): TelemetryEvent[] {
  const start = Date.now() - spanMs;
  return Array.from({ length: count }, (_, i) => {
    const zoneId = `zone-0${(i % 4) + 1}`;
    const sensor = SENSOR_TYPES[i % SENSOR_TYPES.length] ?? 'co2';
    const value =
      sensor === 'occupancy' ? i % 15 : sensor === 'co2' ? 450 + (i % 300) : 20 + (i % 90) / 10;
    return {
      event_id: randomUUID(),
      device_id: deviceId(siteId, zoneId, i % 3),
      site_id: siteId,
      zone_id: zoneId,
      sensor_type: sensor,
      value,
      ts_event: new Date(start + Math.floor((i / count) * spanMs)).toISOString(),
    };
  });
}
