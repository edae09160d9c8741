-- Hourly windows rolled up from the 15-minute windows, for the API's 1h and 1d series: a 30-day
-- hourly chart read 14,400 fifteen-minute rows per site and sensor (EXPLAIN: an index-only scan
-- plus a numeric hash aggregate, ~10 ms alone and 35-55 ms on a busy machine); from here it
-- reads 3,600. Kept exact by a trigger in the transaction that changes the 15-minute window:
-- count and sum move by the window's change, min and max merge, as for the other windows.

-- Writers of 15-minute windows wait until this migration commits: the backfill below and the
-- trigger then see the same windows.
lock table telemetry_agg_15m in share row exclusive mode;

create table telemetry_agg_1h (
  site_id      text not null,
  zone_id      text not null,
  sensor_type  text not null,
  window_start timestamptz not null,
  window_end   timestamptz generated always as (((window_start at time zone 'UTC') + interval '1 hour') at time zone 'UTC') stored,
  count_events bigint not null,
  sum_value    numeric not null,
  min_value    double precision not null,
  max_value    double precision not null,
  avg_value    double precision generated always as ((sum_value / count_events)::double precision) stored,
  primary key (site_id, zone_id, sensor_type, window_start)
);
create index telemetry_agg_1h_site_sensor_window on telemetry_agg_1h
  (site_id, sensor_type, window_start) include (count_events, sum_value, min_value, max_value);

-- A row trigger, not a statement trigger: row events fire in the order the statement wrote the
-- rows, and the processor writes windows in key order, so hourly rows are locked in key order
-- too and concurrent replicas cannot deadlock (an insert and an update statement trigger would
-- each lock their own sorted set, interleaved). They fire after all of the statement's windows
-- are written, so the lock order is windows, then hours, in every transaction.
create function telemetry_rollup_hour() returns trigger
language plpgsql as $$
begin
  insert into telemetry_agg_1h as h
    (site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value)
  values (
    new.site_id, new.zone_id, new.sensor_type,
    date_bin('1 hour', new.window_start, timestamptz '1970-01-01 00:00:00+00'),
    new.count_events - case when tg_op = 'UPDATE' then old.count_events else 0 end,
    new.sum_value - case when tg_op = 'UPDATE' then old.sum_value else 0 end,
    new.min_value, new.max_value)
  on conflict (site_id, zone_id, sensor_type, window_start) do update set
    count_events = h.count_events + excluded.count_events,
    sum_value = h.sum_value + excluded.sum_value,
    min_value = least(h.min_value, excluded.min_value),
    max_value = greatest(h.max_value, excluded.max_value);
  return null;
end $$;

create trigger telemetry_agg_15m_rollup_hour
  after insert or update of count_events, sum_value, min_value, max_value on telemetry_agg_15m
  for each row execute function telemetry_rollup_hour();

-- Retention deletes whole days of windows; their hours go with them.
create function telemetry_drop_rolled_up_hours() returns trigger
language plpgsql as $$
begin
  delete from telemetry_agg_1h h
  using (select distinct site_id, zone_id, sensor_type,
                date_bin('1 hour', window_start, timestamptz '1970-01-01 00:00:00+00') as hour
         from removed_windows) r
  where h.site_id = r.site_id and h.zone_id = r.zone_id and h.sensor_type = r.sensor_type
    and h.window_start = r.hour;
  return null;
end $$;

create trigger telemetry_agg_15m_drop_hours
  after delete on telemetry_agg_15m
  referencing old table as removed_windows
  for each statement execute function telemetry_drop_rolled_up_hours();

-- The windows already stored (writers wait from the lock above, so none is missed or counted
-- twice).
insert into telemetry_agg_1h
  (site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value)
select site_id, zone_id, sensor_type,
       date_bin('1 hour', window_start, timestamptz '1970-01-01 00:00:00+00'),
       sum(count_events), sum(sum_value), min(min_value), max(max_value)
from telemetry_agg_15m
group by 1, 2, 3, 4;
