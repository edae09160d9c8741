-- Request counters of the API's rate limit, shared by every API replica: one row per client key
-- and window, incremented by one atomic upsert per request. Unlogged: counters that vanish with a
-- crash only let clients start a fresh window, and skipping the WAL keeps a write per request
-- cheap. Expired rows are deleted by the API in the background.
create unlogged table api_rate_limits (
  key      text primary key,
  hits     integer not null,
  reset_at timestamptz not null
);
create index api_rate_limits_reset on api_rate_limits (reset_at);
