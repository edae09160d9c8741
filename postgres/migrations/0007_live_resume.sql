-- Resumable live stream (Last-Event-ID). Change notifications move to one channel,
-- telemetry_live, and carry the writer's transaction id and the xmin of its snapshot: every
-- transaction that commits later has an id at or above that xmin, so the API can turn what it
-- has sent into a cursor and, on reconnect, read from the tables every row written at or above
-- it (rows carry their writer in the xmin system column). One channel, because notifications
-- arrive in commit order only within one listening connection's queue, and the API also sends
-- its own markers on it.

create or replace function telemetry_notify_alert() returns trigger
language plpgsql as $$
begin
  perform pg_notify('telemetry_live', json_build_object(
    'kind', 'alert', 'alert_id', new.alert_id, 'site_id', new.site_id, 'op', lower(tg_op),
    'xid', pg_current_xact_id()::text,
    'xmin', pg_snapshot_xmin(pg_current_snapshot())::text)::text);
  return null;
end $$;

create or replace function telemetry_notify_aggregates() returns trigger
language plpgsql as $$
begin
  perform pg_notify('telemetry_live', json_build_object(
    'kind', 'aggregates', 'site_id', site_id, 'from', min(window_start), 'to', max(window_start),
    'xid', pg_current_xact_id()::text,
    'xmin', pg_snapshot_xmin(pg_current_snapshot())::text)::text)
  from changed_windows
  group by site_id;
  return null;
end $$;

-- A reconnecting stream reads the alerts changed since its cursor, within a bounded time. A BRIN
-- index (summarizing) keeps the processor's per-batch alert updates HOT, which a btree on
-- updated_at would not.
create index telemetry_alerts_updated on telemetry_alerts using brin (updated_at)
  with (autosummarize = on);
