-- Change notifications for the API's live stream (GET /api/v1/live). Payloads stay small (ids and
-- ranges, never rows): NOTIFY payloads are limited to 8000 bytes, and the API reads the changed
-- rows once per notification for all its listeners. Notifications are sent on commit only, so
-- listeners never see what a rolled-back batch wrote.

-- An alert was opened, or its lifecycle changed (acknowledged, resolved, commented). The
-- processor's per-batch updates of value and count alone do not notify.
create function telemetry_notify_alert() returns trigger
language plpgsql as $$
begin
  perform pg_notify('telemetry_alerts',
    json_build_object('alert_id', new.alert_id, 'site_id', new.site_id, 'op', lower(tg_op))::text);
  return null;
end $$;

create trigger telemetry_alerts_notify_insert
  after insert on telemetry_alerts
  for each row execute function telemetry_notify_alert();

create trigger telemetry_alerts_notify_update
  after update on telemetry_alerts
  for each row
  when (old.status is distinct from new.status
        or old.acknowledged_at is distinct from new.acknowledged_at
        or old.resolved_at is distinct from new.resolved_at
        or old.comment is distinct from new.comment)
  execute function telemetry_notify_alert();

-- 5-minute windows changed: one notification per site and statement with the range of window
-- starts touched, whatever the number of rows (a batch upserts many windows at once).
create function telemetry_notify_aggregates() returns trigger
language plpgsql as $$
begin
  perform pg_notify('telemetry_aggregates',
    json_build_object('site_id', site_id, 'from', min(window_start), 'to', max(window_start))::text)
  from changed_windows
  group by site_id;
  return null;
end $$;

-- A trigger with a transition table may handle one kind of event only: one for each.
create trigger telemetry_agg_5m_notify_insert
  after insert on telemetry_agg_5m
  referencing new table as changed_windows
  for each statement execute function telemetry_notify_aggregates();

create trigger telemetry_agg_5m_notify_update
  after update on telemetry_agg_5m
  referencing new table as changed_windows
  for each statement execute function telemetry_notify_aggregates();
