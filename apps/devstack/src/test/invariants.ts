// What must hold of the stored data whatever the load: nothing stored twice, and every window
// aggregate equal to a recomputation from the raw events.
import { STORED_WINDOWS, type StoredWindow } from '@telemetrypulse/shared';
import type { TestDatabase } from './database.ts';

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
