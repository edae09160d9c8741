import type { TelemetryEvent, Tx } from '@telemetrypulse/shared';

export const eventKey = (eventId: string, ts: string) => `${eventId}|${ts}`;

const column = <K extends keyof TelemetryEvent>(events: readonly TelemetryEvent[], key: K) =>
  events.map((e) => e[key]);

/**
 * Inserts the batch's raw rows, deduplicated on event_id + ts_event, and returns the keys
 * (eventKey) of those that were already stored. Only the duplicates travel back: normally none.
 */
export async function insertRawEvents(
  tx: Tx,
  events: readonly TelemetryEvent[],
): Promise<Set<string>> {
  const rows = await tx<{ event_id: string; ts_event: string }[]>`
    with input as (
      select * from unnest(
        ${column(events, 'event_id')}::uuid[], ${column(events, 'device_id')}::text[],
        ${column(events, 'site_id')}::text[], ${column(events, 'zone_id')}::text[],
        ${column(events, 'sensor_type')}::text[], ${column(events, 'value')}::float8[],
        ${column(events, 'ts_event')}::timestamptz[]
      ) as t(event_id, device_id, site_id, zone_id, sensor_type, value, ts_event)
    ), inserted as (
      insert into telemetry_events (event_id, device_id, site_id, zone_id, sensor_type, value, ts_event)
      select * from input
      on conflict do nothing
      returning event_id, ts_event
    )
    select i.event_id,
           to_char(i.ts_event at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ts_event
    from input i
    where not exists (
      select 1 from inserted n where n.event_id = i.event_id and n.ts_event = i.ts_event)`;
  return new Set(rows.map((r) => eventKey(r.event_id, r.ts_event)));
}

/**
 * Adds newly stored events to the 5m and 15m aggregates and the sites' last event time. Sums are
 * numeric, so merging batches in any order equals one recomputation from the raw rows. Runs last
 * in the batch's transaction: other replicas update the same rows, and locks taken here are held
 * only until the commit right after. Rows are touched in key order so replicas never deadlock.
 */
export async function addToAggregates(tx: Tx, stored: readonly TelemetryEvent[]): Promise<void> {
  if (stored.length === 0) return;
  // One upsert per window size, from the same input rows.
  const upsertWindows = (table: string, width: string) => tx`
    insert into ${tx(table)} as a
      (site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value)
    select site_id, zone_id, sensor_type,
           date_bin(${width}::interval, ts_event, timestamptz '1970-01-01 00:00:00+00') as w,
           count(*), sum(value::numeric), min(value), max(value)
    from input group by 1, 2, 3, 4 order by 1, 2, 3, 4
    on conflict (site_id, zone_id, sensor_type, window_start) do update set
      count_events = a.count_events + excluded.count_events,
      sum_value = a.sum_value + excluded.sum_value,
      min_value = least(a.min_value, excluded.min_value),
      max_value = greatest(a.max_value, excluded.max_value),
      updated_at = now()`;
  await tx`
    with input as (
      select * from unnest(
        ${column(stored, 'site_id')}::text[], ${column(stored, 'zone_id')}::text[],
        ${column(stored, 'sensor_type')}::text[], ${column(stored, 'value')}::float8[],
        ${column(stored, 'ts_event')}::timestamptz[]
      ) as t(site_id, zone_id, sensor_type, value, ts_event)
    ),
    agg_5m as (${upsertWindows('telemetry_agg_5m', '5 minutes')}),
    agg_15m as (${upsertWindows('telemetry_agg_15m', '15 minutes')})
    insert into sites as s (site_id, last_event_at)
    select site_id, max(ts_event) from input group by 1 order by 1
    on conflict (site_id) do update set
      last_event_at = greatest(s.last_event_at, excluded.last_event_at)`;
}
