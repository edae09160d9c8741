import { windowOf, type TelemetryEvent, type Tx } from '@telemetrypulse/shared';
import { numberArrayLiteral, textArrayLiteral } from './pg-array.ts';

export const eventKey = (eventId: string, ts: string) => `${eventId}|${ts}`;

/** The batch as one array literal per column: seven parameters, whatever the batch size. */
export function eventColumns(events: readonly TelemetryEvent[]) {
  const n = events.length;
  const eventIds = new Array<string>(n);
  const deviceIds = new Array<string>(n);
  const siteIds = new Array<string>(n);
  const zoneIds = new Array<string>(n);
  const sensorTypes = new Array<string>(n);
  const values = new Array<number>(n);
  const times = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const e = events[i] as TelemetryEvent;
    eventIds[i] = e.event_id;
    deviceIds[i] = e.device_id;
    siteIds[i] = e.site_id;
    zoneIds[i] = e.zone_id;
    sensorTypes[i] = e.sensor_type;
    values[i] = e.value;
    times[i] = e.ts_event;
  }
  return {
    eventIds: textArrayLiteral(eventIds),
    deviceIds: textArrayLiteral(deviceIds),
    siteIds: textArrayLiteral(siteIds),
    zoneIds: textArrayLiteral(zoneIds),
    sensorTypes: textArrayLiteral(sensorTypes),
    values: numberArrayLiteral(values),
    times: textArrayLiteral(times),
  };
}

/**
 * How insertEvents treats copies of an event (already stored, or twice in the batch). `new`
 * expects none: a plain insert, which costs PostgreSQL about a quarter less per row than ON
 * CONFLICT's speculative insertion, and fails with a unique violation (isStoredAlready) if there
 * is one after all. `redelivered` skips them (ON CONFLICT DO NOTHING) and reports them.
 */
export type InsertMode = 'new' | 'redelivered';

export type EventColumns = ReturnType<typeof eventColumns>;

/** The tables whose unique keys say "stored before": the event ids, and raw rows' (time, id). */
const DEDUPLICATING_TABLES = /^telemetry_event(_ids|s)/;

/** The error a `new` insert fails with when one of its events was stored before. */
export function isStoredAlready(error: unknown): boolean {
  const e = error as { code?: unknown; table_name?: unknown };
  return e.code === '23505' && DEDUPLICATING_TABLES.test(String(e.table_name));
}

/**
 * Stores a batch in one statement: the event ids (telemetry_event_ids, unique on event_id alone,
 * whatever the time), the raw rows of the ids that were new there (in `new` mode, where none may
 * be old, the ids of the raw rows) and, from exactly the rows that
 * were inserted (RETURNING), the 5m, 15m and hourly aggregates and the sites' last event time.
 * Redelivered or resent events (the same event_id, even with another ts_event) therefore never
 * count twice, and no column travels twice. Returns the keys (eventKey)
 * of the copies that were not inserted, once per copy: normally none, and always none in `new`
 * mode, which fails instead.
 *
 * Sums are numeric, so merging batches in any order equals one recomputation from the raw rows.
 * Aggregate and site rows are locked in key order so that replicas never deadlock on them.
 * `c` is eventColumns(events), built by the caller before its transaction begins.
 */
export async function insertEvents(
  tx: Tx,
  events: readonly TelemetryEvent[],
  mode: InsertMode,
  c: EventColumns = eventColumns(events),
): Promise<string[]> {
  if (events.length === 0) return [];
  const [w5m, w15m, w1h] = [windowOf('5m'), windowOf('15m'), windowOf('1h')];
  // New events need no join: a copy among them fails one of the two inserts, and the whole
  // statement. The ids come from the raw rows' RETURNING, so the input is read once: PostgreSQL
  // then streams it into the insert instead of materialising it for several readers.
  const newIdsAndRows =
    mode === 'new'
      ? tx`inserted as (
      insert into telemetry_events (event_id, device_id, site_id, zone_id, sensor_type, value, ts_event)
      select * from input
      returning event_id, site_id, zone_id, sensor_type, value, ts_event
    ), new_ids as (
      insert into telemetry_event_ids (event_id, ts_event) select event_id, ts_event from inserted`
      : tx`new_ids as (
      insert into telemetry_event_ids (event_id, ts_event)
      select event_id, ts_event from input
      on conflict do nothing
      returning event_id, ts_event
    ), inserted as (
      insert into telemetry_events (event_id, device_id, site_id, zone_id, sensor_type, value, ts_event)
      select input.* from input join new_ids using (event_id, ts_event)
      on conflict do nothing
      returning event_id, site_id, zone_id, sensor_type, value, ts_event`;
  // Only redelivered batches can hold copies; a new batch with one has failed by now.
  const copies =
    mode === 'new'
      ? tx`select null::uuid as event_id, null::text as ts_event where false`
      : tx`
    -- Copies are looked for only when fewer rows went in than came: the filter is checked
    -- once, before the difference is computed.
    select event_id,
           to_char(ts_event at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ts_event
    from (
      select event_id, ts_event from input
      except all
      select event_id, ts_event from inserted
    ) duplicate
    where (select count(*) from inserted) < ${events.length}`;
  const upsertWindows = (table: string, from: string, touched = tx`, updated_at = now()`) => tx`
    insert into ${tx(table)} as a
      (site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value)
    select site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value
    from ${tx(from)} order by 1, 2, 3, 4
    on conflict (site_id, zone_id, sensor_type, window_start) do update set
      count_events = a.count_events + excluded.count_events,
      sum_value = a.sum_value + excluded.sum_value,
      min_value = least(a.min_value, excluded.min_value),
      max_value = greatest(a.max_value, excluded.max_value)
      ${touched}`;
  /** Windows of `from` merged into wider ones: exact, as sums and counts add up. */
  const mergeWindows = (from: string, width: string) => tx`
    select site_id, zone_id, sensor_type,
           date_bin(${width}::interval, window_start, timestamptz '1970-01-01 00:00:00+00') as window_start,
           sum(count_events) as count_events, sum(sum_value) as sum_value,
           min(min_value) as min_value, max(max_value) as max_value
    from ${tx(from)} group by 1, 2, 3, 4`;
  // The rows are reduced once, to 5-minute windows (one float-to-numeric conversion per event,
  // the costly part); 15-minute and hourly windows and the sites' last event time merge those
  // exactly. The hours are written here, so the rollup trigger (kept for other writers of
  // 15-minute windows, see migration 0010) is told to stand aside; pipelined, no round trip.
  const [, rows] = await Promise.all([
    tx`select set_config('telemetrypulse.writer_rolls_up_hours', 'on', true)`,
    tx<{ event_id: string; ts_event: string }[]>`
    with input as (
      select * from unnest(
        ${c.eventIds}::uuid[], ${c.deviceIds}::text[], ${c.siteIds}::text[], ${c.zoneIds}::text[],
        ${c.sensorTypes}::text[], ${c.values}::float8[], ${c.times}::timestamptz[]
      ) as t(event_id, device_id, site_id, zone_id, sensor_type, value, ts_event)
    ), ${newIdsAndRows}
    ), windows_5m as (
      select site_id, zone_id, sensor_type,
             date_bin(${w5m.interval}::interval, ts_event, timestamptz '1970-01-01 00:00:00+00') as window_start,
             count(*) as count_events, sum(value::numeric) as sum_value,
             min(value) as min_value, max(value) as max_value, max(ts_event) as last_event_at
      from inserted group by 1, 2, 3, 4
    ),
    windows_15m as (${mergeWindows('windows_5m', w15m.interval)}),
    windows_1h as (${mergeWindows('windows_15m', w1h.interval)}),
    agg_5m as (${upsertWindows(w5m.table, 'windows_5m')}),
    agg_15m as (${upsertWindows(w15m.table, 'windows_15m')}),
    agg_1h as (${upsertWindows(w1h.table, 'windows_1h', tx``)}),
    site as (
      insert into sites as s (site_id, last_event_at)
      select site_id, max(last_event_at) from windows_5m group by 1 order by 1
      on conflict (site_id) do update set
        last_event_at = greatest(s.last_event_at, excluded.last_event_at)
    )
    ${copies}`,
  ]);
  return rows.map((r) => eventKey(r.event_id, r.ts_event));
}
