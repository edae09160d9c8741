-- Idempotence on event_id alone, as the original promised (its raw table's key was event_id).
-- The raw table is partitioned by event time, and a partitioned table's unique keys must include
-- the partition key: its key (ts_event, event_id) only caught a redelivery with the same time. A
-- client that resends an event after a timeout without ts_event gets a fresh server time, so the
-- resend was a second row counted in the aggregates. This table holds every stored event_id once;
-- the processor inserts here first and stores only the events that were new here.

create table telemetry_event_ids (
  event_id uuid primary key,
  -- The event time of the stored copy: retention deletes the ids whose raw partition went.
  ts_event timestamptz not null
);

-- Rows arrive roughly in event-time order, so a BRIN index serves retention's range deletes at
-- almost no cost to inserts (a btree on time would be a second index on the hot path).
create index telemetry_event_ids_ts_event on telemetry_event_ids using brin (ts_event);

-- Earlier copies of one event_id at different times stay in the raw table as they are; the first
-- one's time is recorded.
insert into telemetry_event_ids (event_id, ts_event)
select distinct on (event_id) event_id, ts_event from telemetry_events order by event_id, ts_event;
