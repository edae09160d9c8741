import { DAY_MS, type Sql, windowOf } from '@telemetrypulse/shared';

export const SITES = 3;
export const ZONES = 5;
export const DEVICES_PER_ZONE = 3;
const DEVICES = SITES * ZONES * DEVICES_PER_ZONE;
const SENSORS = ['co2', 'temperature', 'humidity', 'occupancy'];

/**
 * `events` raw readings spread evenly over the `days` before now (3 sites × 5 zones × 3 devices,
 * four sensors), in chunks so each statement stays a moderate transaction.
 */
export async function seedRawEvents(
  sql: Sql,
  events: number,
  days: number,
  now: number,
): Promise<void> {
  const start = new Date(now - days * DAY_MS);
  const stepMs = (days * DAY_MS) / events;
  const chunk = 1_000_000;
  for (let offset = 0; offset < events; offset += chunk) {
    const count = Math.min(chunk, events - offset);
    await sql`
      insert into telemetry_events (event_id, device_id, site_id, zone_id, sensor_type, value, ts_event)
      select gen_random_uuid(),
             format('site-%s-zone-%s-dev-%s', lpad(s::text, 2, '0'), lpad(z::text, 2, '0'), lpad(d::text, 2, '0')),
             format('site-%s', lpad(s::text, 2, '0')),
             format('zone-%s', lpad(z::text, 2, '0')),
             (${SENSORS}::text[])[sensor + 1],
             case sensor
               when 0 then 400 + random() * 500
               when 1 then 19 + random() * 6
               when 2 then 30 + random() * 30
               else floor(random() * 20)
             end,
             ${start}::timestamptz + make_interval(secs => i * ${stepMs / 1000}::float8)
      from generate_series(${offset}::bigint, ${offset + count - 1}::bigint) as i
      cross join lateral (select (i % ${DEVICES})::int as device, ((i / ${DEVICES}) % 4)::int as sensor) k
      cross join lateral (
        select device / ${ZONES * DEVICES_PER_ZONE} + 1 as s,
               (device / ${DEVICES_PER_ZONE}) % ${ZONES} + 1 as z,
               device % ${DEVICES_PER_ZONE} + 1 as d
      ) ids`;
  }
}

/** The 5m and 15m windows and the site registry, computed from the raw events (exact). */
export async function seedAggregates(sql: Sql): Promise<void> {
  for (const { table, interval: width } of [windowOf('5m'), windowOf('15m')]) {
    await sql`
      insert into ${sql(table)}
        (site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value)
      select site_id, zone_id, sensor_type,
             date_bin(${width}::interval, ts_event, timestamptz '1970-01-01 00:00:00+00'),
             count(*), sum(value::numeric), min(value), max(value)
      from telemetry_events group by 1, 2, 3, 4`;
  }
  await sql`
    insert into sites (site_id, last_event_at)
    select site_id, max(ts_event) from telemetry_events group by 1
    on conflict (site_id) do update set last_event_at = excluded.last_event_at`;
}

/** `count` incidents over the `days` before now; the newest per zone and type stays open. */
export async function seedAlerts(
  sql: Sql,
  count: number,
  days: number,
  now: number,
): Promise<void> {
  const start = new Date(now - days * DAY_MS);
  const stepMs = (days * DAY_MS) / count;
  await sql`
    insert into telemetry_alerts (site_id, zone_id, sensor_type, alert_type, severity, status,
      threshold, value, peak_value, event_count, triggered_at, last_seen_at, resolved_at)
    select format('site-%s', lpad((i % ${SITES} + 1)::text, 2, '0')),
           format('zone-%s', lpad(((i / ${SITES}) % ${ZONES} + 1)::text, 2, '0')),
           'co2', 'CO2_HIGH', 'warning', 'resolved', 1000, 1100, 1200, 5,
           ${start}::timestamptz + make_interval(secs => i * ${stepMs / 1000}::float8),
           ${start}::timestamptz + make_interval(secs => i * ${stepMs / 1000}::float8 + 60),
           ${start}::timestamptz + make_interval(secs => i * ${stepMs / 1000}::float8 + 120)
    from generate_series(0, ${count - 1}) as i`;
  await sql`
    update telemetry_alerts set status = 'open', resolved_at = null
    where alert_id in (
      select distinct on (site_id, zone_id, alert_type) alert_id from telemetry_alerts
      order by site_id, zone_id, alert_type, triggered_at desc)`;
}
