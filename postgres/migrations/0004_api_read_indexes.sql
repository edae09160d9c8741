-- Indexes for the API's hot reads, where EXPLAIN showed bitmap heap scans over thousands of
-- scattered pages (a site's windows are interleaved with every other series'). Covering indexes
-- (INCLUDE the aggregate columns) let a series be read by an index-only scan in time order.
-- The raw event table gets none: each index there costs the processor's insert path.

-- /api/v1/series (a site, a sensor, a time range, any zone) and the 30-day 1h rollup.
create index telemetry_agg_5m_site_sensor_window on telemetry_agg_5m
  (site_id, sensor_type, window_start) include (count_events, sum_value, min_value, max_value);
create index telemetry_agg_15m_site_sensor_window on telemetry_agg_15m
  (site_id, sensor_type, window_start) include (count_events, sum_value, min_value, max_value);

-- The original /trends: a sensor's newest windows across every site and zone.
create index telemetry_agg_5m_sensor_window on telemetry_agg_5m
  (sensor_type, window_start desc) include (count_events, sum_value, min_value, max_value);
create index telemetry_agg_15m_sensor_window on telemetry_agg_15m
  (sensor_type, window_start desc) include (count_events, sum_value, min_value, max_value);

-- /api/v1/alerts pages filtered by site or status, in keyset order.
create index telemetry_alerts_site_page on telemetry_alerts (site_id, triggered_at desc, alert_id desc);
create index telemetry_alerts_status_page on telemetry_alerts (status, triggered_at desc, alert_id desc);
