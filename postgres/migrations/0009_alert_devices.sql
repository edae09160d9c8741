-- Alerts judge a zone by the newest reading of each of its devices, so one device above the
-- threshold and another below it no longer open and resolve the zone's incident in turn. Those
-- readings live on the per-key watermark row, which the batch holding the zone's readings locks
-- and updates: {"<device_id>": [value, epoch ms], ...}; devices silent for long are dropped.
alter table alert_watermarks add column devices jsonb not null default '{}'::jsonb;
