-- TelemetryPulse schema v1. Table and column names of the original are kept where clients read them.

-- Registry of sites: written from Site resources and kept fresh by the processor.
create table sites (
  site_id       text primary key,
  display_name  text,
  spec          jsonb not null default '{}'::jsonb,
  first_seen_at timestamptz not null default now(),
  last_event_at timestamptz,
  updated_at    timestamptz not null default now()
);

-- Raw events, partitioned by event time (one partition per UTC day). The partition key has to be
-- part of the primary key, so the deduplication key is (event_id, ts_event): a redelivered event
-- carries both unchanged.
create table telemetry_events (
  event_id    uuid not null,
  device_id   text not null,
  site_id     text not null,
  zone_id     text not null,
  sensor_type text not null,
  value       double precision not null,
  ts_event    timestamptz not null,
  ingested_at timestamptz not null default now(),
  primary key (event_id, ts_event)
) partition by range (ts_event);

create index telemetry_events_device_ts on telemetry_events (device_id, ts_event desc);

-- Creates the daily partitions covering [from_day, to_day]; existing ones are kept.
create function telemetry_ensure_partitions(from_day date, to_day date) returns integer
language plpgsql as $$
declare
  day date := from_day;
  created integer := 0;
  part text;
begin
  while day <= to_day loop
    part := format('telemetry_events_%s', to_char(day, 'YYYYMMDD'));
    if to_regclass(part) is null then
      execute format(
        'create table if not exists %I partition of telemetry_events for values from (%L) to (%L)',
        part, day::timestamp at time zone 'UTC', (day + 1)::timestamp at time zone 'UTC');
      created := created + 1;
    end if;
    day := day + 1;
  end loop;
  return created;
end $$;

-- Drops the daily partitions entirely older than before_day; returns how many were dropped.
create function telemetry_drop_partitions(before_day date) returns integer
language plpgsql as $$
declare
  part record;
  dropped integer := 0;
begin
  for part in
    select c.relname from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_class p on p.oid = i.inhparent
    where p.relname = 'telemetry_events'
      and c.relname ~ '^telemetry_events_\d{8}$'
      and to_date(right(c.relname, 8), 'YYYYMMDD') < before_day
  loop
    execute format('drop table %I', part.relname);
    dropped := dropped + 1;
  end loop;
  return dropped;
end $$;

-- Tumbling-window aggregates keep sum/count/min/max so they merge exactly; avg is derived.
-- sum is numeric so that adding batches in any order gives the same result as one recomputation.
create table telemetry_agg_5m (
  site_id      text not null,
  zone_id      text not null,
  sensor_type  text not null,
  window_start timestamptz not null,
  window_end   timestamptz generated always as (((window_start at time zone 'UTC') + interval '5 minutes') at time zone 'UTC') stored,
  count_events bigint not null,
  sum_value    numeric not null,
  min_value    double precision not null,
  max_value    double precision not null,
  avg_value    double precision generated always as ((sum_value / count_events)::double precision) stored,
  updated_at   timestamptz not null default now(),
  primary key (site_id, zone_id, sensor_type, window_start)
);
create index telemetry_agg_5m_window on telemetry_agg_5m (window_start desc);

create table telemetry_agg_15m (
  site_id      text not null,
  zone_id      text not null,
  sensor_type  text not null,
  window_start timestamptz not null,
  window_end   timestamptz generated always as (((window_start at time zone 'UTC') + interval '15 minutes') at time zone 'UTC') stored,
  count_events bigint not null,
  sum_value    numeric not null,
  min_value    double precision not null,
  max_value    double precision not null,
  avg_value    double precision generated always as ((sum_value / count_events)::double precision) stored,
  updated_at   timestamptz not null default now(),
  primary key (site_id, zone_id, sensor_type, window_start)
);
create index telemetry_agg_15m_window on telemetry_agg_15m (window_start desc);

-- One row per incident. At most one alert that is not resolved per site, zone and type.
create table telemetry_alerts (
  alert_id        bigint generated always as identity primary key,
  site_id         text not null,
  zone_id         text not null,
  sensor_type     text not null,
  alert_type      text not null,
  severity        text not null default 'warning' check (severity in ('info', 'warning', 'critical')),
  status          text not null default 'open' check (status in ('open', 'acknowledged', 'resolved')),
  threshold       double precision not null,
  value           double precision not null,
  peak_value      double precision not null,
  event_count     integer not null default 1,
  triggered_at    timestamptz not null,
  last_seen_at    timestamptz not null,
  resolved_at     timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by text,
  resolved_by     text,
  comment         text,
  updated_at      timestamptz not null default now()
);
create unique index telemetry_alerts_one_active
  on telemetry_alerts (site_id, zone_id, alert_type) where status <> 'resolved';
create index telemetry_alerts_triggered on telemetry_alerts (triggered_at desc);

-- How far in event time each site/zone/alert type has been judged: readings older than this are
-- late and may not open, reopen or resolve an incident. Also the per-key lock that serialises
-- concurrent batches deciding about the same zone.
create table alert_watermarks (
  site_id      text not null,
  zone_id      text not null,
  alert_type   text not null,
  judged_until timestamptz,
  primary key (site_id, zone_id, alert_type)
);
