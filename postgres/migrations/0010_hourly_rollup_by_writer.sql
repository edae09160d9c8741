-- The processor rolls its windows up into hours itself, in the statement that writes them: one
-- set-based upsert of pre-reduced hours instead of one trigger call, and one single-row upsert,
-- per 15-minute window (the trigger took about a tenth of the database's time per batch). A
-- writer that does so says it for its transaction with
--   set local telemetrypulse.writer_rolls_up_hours = 'on'
-- and the trigger then stays out of its way. Every other writer of 15-minute windows (a
-- processor of the previous release during a rolling upgrade, a backfill, a hand fix) still has
-- its hours kept by the trigger, so no upgrade order can leave an hour behind its windows.
drop trigger telemetry_agg_15m_rollup_hour on telemetry_agg_15m;

create trigger telemetry_agg_15m_rollup_hour
  after insert or update of count_events, sum_value, min_value, max_value on telemetry_agg_15m
  for each row
  when (current_setting('telemetrypulse.writer_rolls_up_hours', true) is distinct from 'on')
  execute function telemetry_rollup_hour();
