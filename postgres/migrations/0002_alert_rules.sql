-- Alert rules with hysteresis and a "for" duration, and a transactional outbox for the alerts topic.

-- While a rule with a "for" duration waits, when its readings went above the threshold. Kept on
-- the per-key watermark row, which the batch holding the readings locks and updates, so a
-- restart or a redelivery continues from exactly what was committed.
alter table alert_watermarks add column pending_since timestamptz;

-- The clear level in force for the incident, and when its condition began (before any wait).
alter table telemetry_alerts
  add column clear_threshold double precision,
  add column condition_since timestamptz;

-- Alert transitions waiting to be published to the alerts topic. Rows are written in the
-- batch's transaction (so none is lost) and deleted once the broker has acknowledged them; a
-- crash in between publishes a row twice, which consumers absorb (alert_id + transition).
create table alert_outbox (
  outbox_id  bigint generated always as identity primary key,
  alert_id   bigint not null,
  transition text not null check (transition in ('opened', 'resolved')),
  site_id    text not null,
  payload    jsonb not null,
  created_at timestamptz not null default now()
);
