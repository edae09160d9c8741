import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { STORED_WINDOWS, windowOf, type Sql, type TelemetryEvent } from '@telemetrypulse/shared';

/**
 * Empties the raw events, their recorded ids and every window table, then checkpoints: each
 * measurement starts from empty tables and with no checkpoint owed for the last one's WAL (a
 * drain right after COPY's gigabyte of WAL would otherwise pay for COPY's checkpoint).
 */
export async function emptyTables(sql: Sql): Promise<void> {
  await sql`truncate telemetry_events, telemetry_event_ids, ${sql(STORED_WINDOWS.map((w) => w.table))}`;
  await sql`checkpoint`;
}

/** The ceiling: COPY of the same rows into the same raw table (indexes included). */
export async function copyRowsPerSecond(
  sql: Sql,
  events: readonly TelemetryEvent[],
): Promise<number> {
  await emptyTables(sql);
  const start = performance.now();
  const sink = await sql`
    copy telemetry_events (event_id, device_id, site_id, zone_id, sensor_type, value, ts_event)
    from stdin`.writable();
  await pipeline(
    Readable.from(
      (function* () {
        for (const e of events) {
          yield `${e.event_id}\t${e.device_id}\t${e.site_id}\t${e.zone_id}\t${e.sensor_type}\t${e.value}\t${e.ts_event}\n`;
        }
      })(),
    ),
    sink,
  );
  return events.length / ((performance.now() - start) / 1000);
}

/**
 * The original's approach: one event at a time, the raw insert and each aggregate upsert in
 * separate transactions (autocommit statements).
 */
export async function seedStyleEventsPerSecond(
  sql: Sql,
  events: readonly TelemetryEvent[],
): Promise<number> {
  await emptyTables(sql);
  const conn = await sql.reserve();
  try {
    const start = performance.now();
    for (const e of events) {
      await conn`
        insert into telemetry_events (event_id, device_id, site_id, zone_id, sensor_type, value, ts_event)
        values (${e.event_id}, ${e.device_id}, ${e.site_id}, ${e.zone_id}, ${e.sensor_type}, ${e.value}, ${e.ts_event})
        on conflict do nothing`;
      for (const { table, interval: width } of [windowOf('5m'), windowOf('15m')]) {
        await conn`
          insert into ${conn(table)} as a (site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value)
          values (${e.site_id}, ${e.zone_id}, ${e.sensor_type},
                  date_bin(${width}::interval, ${e.ts_event}::timestamptz, timestamptz '1970-01-01 00:00:00+00'),
                  1, ${e.value}, ${e.value}, ${e.value})
          on conflict (site_id, zone_id, sensor_type, window_start) do update set
            count_events = a.count_events + 1, sum_value = a.sum_value + excluded.sum_value,
            min_value = least(a.min_value, excluded.min_value), max_value = greatest(a.max_value, excluded.max_value)`;
      }
    }
    return events.length / ((performance.now() - start) / 1000);
  } finally {
    conn.release();
  }
}
