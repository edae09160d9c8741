import type { TelemetryEvent, Tx } from '@telemetrypulse/shared';

export const eventKey = (eventId: string, ts: string) => `${eventId}|${ts}`;

/**
 * Inside the batch's transaction: raw rows (deduplicated on event_id + ts_event), then the 5m and
 * 15m aggregates and the sites' last event time from the rows that were really inserted, so a
 * redelivered event never counts twice. Sums are numeric, making the merged aggregate equal to a
 * recomputation. Returns the keys (eventKey) of the events that were new.
 */
export async function insertEvents(
  tx: Tx,
  events: readonly TelemetryEvent[],
): Promise<Set<string>> {
  const rows = await tx<{ event_id: string; ts_event: Date }[]>`
    with input as (
      select * from unnest(
        ${events.map((e) => e.event_id)}::uuid[], ${events.map((e) => e.device_id)}::text[],
        ${events.map((e) => e.site_id)}::text[], ${events.map((e) => e.zone_id)}::text[],
        ${events.map((e) => e.sensor_type)}::text[], ${events.map((e) => e.value)}::float8[],
        ${events.map((e) => e.ts_event)}::timestamptz[]
      ) as t(event_id, device_id, site_id, zone_id, sensor_type, value, ts_event)
    ), inserted as (
      insert into telemetry_events (event_id, device_id, site_id, zone_id, sensor_type, value, ts_event)
      select * from input
      on conflict do nothing
      returning event_id, site_id, zone_id, sensor_type, value, ts_event
    ), agg_5m as (
      insert into telemetry_agg_5m as a
        (site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value)
      select site_id, zone_id, sensor_type,
             date_bin('5 minutes', ts_event, timestamptz '1970-01-01 00:00:00+00') as w,
             count(*), sum(value::numeric), min(value), max(value)
      from inserted group by 1, 2, 3, 4 order by 1, 2, 3, 4
      on conflict (site_id, zone_id, sensor_type, window_start) do update set
        count_events = a.count_events + excluded.count_events,
        sum_value = a.sum_value + excluded.sum_value,
        min_value = least(a.min_value, excluded.min_value),
        max_value = greatest(a.max_value, excluded.max_value),
        updated_at = now()
    ), agg_15m as (
      insert into telemetry_agg_15m as a
        (site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value)
      select site_id, zone_id, sensor_type,
             date_bin('15 minutes', ts_event, timestamptz '1970-01-01 00:00:00+00') as w,
             count(*), sum(value::numeric), min(value), max(value)
      from inserted group by 1, 2, 3, 4 order by 1, 2, 3, 4
      on conflict (site_id, zone_id, sensor_type, window_start) do update set
        count_events = a.count_events + excluded.count_events,
        sum_value = a.sum_value + excluded.sum_value,
        min_value = least(a.min_value, excluded.min_value),
        max_value = greatest(a.max_value, excluded.max_value),
        updated_at = now()
    ), site_seen as (
      insert into sites as s (site_id, last_event_at)
      select site_id, max(ts_event) from inserted group by 1 order by 1
      on conflict (site_id) do update set
        last_event_at = greatest(s.last_event_at, excluded.last_event_at)
    )
    select event_id, ts_event from inserted`;
  return new Set(rows.map((r) => eventKey(r.event_id, r.ts_event.toISOString())));
}
