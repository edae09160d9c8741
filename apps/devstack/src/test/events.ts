// Telemetry events for tests: one builder for a single valid event, one for a realistic load.
import { randomUUID } from 'node:crypto';
import { deviceId, MINUTE_MS, SENSOR_TYPES, type TelemetryEvent } from '@telemetrypulse/shared';

/**
 * One valid CO2 reading of site-01/zone-01 taken a minute ago, with a fresh event id; the
 * device id follows the site and zone unless `overrides` names one.
 */
export function telemetryEvent(overrides: Partial<TelemetryEvent> = {}): TelemetryEvent {
  const site = overrides.site_id ?? 'site-01';
  const zone = overrides.zone_id ?? 'zone-01';
  return {
    event_id: randomUUID(),
    device_id: deviceId(site, zone, 0),
    site_id: site,
    zone_id: zone,
    sensor_type: 'co2',
    value: 612.5,
    ts_event: new Date(Date.now() - MINUTE_MS).toISOString(),
    ...overrides,
  };
}

/** Valid events of one site spread over the last `spanMs`, values inside the normal bands. */
export function syntheticEvents(
  count: number,
  siteId: string,
  spanMs = 30 * MINUTE_MS,
): TelemetryEvent[] {
  const start = Date.now() - spanMs;
  return Array.from({ length: count }, (_, i) => {
    const zoneId = `zone-0${(i % 4) + 1}`;
    const sensor = SENSOR_TYPES[i % SENSOR_TYPES.length] ?? 'co2';
    const value =
      sensor === 'occupancy' ? i % 15 : sensor === 'co2' ? 450 + (i % 300) : 20 + (i % 90) / 10;
    return telemetryEvent({
      device_id: deviceId(siteId, zoneId, i % 3),
      site_id: siteId,
      zone_id: zoneId,
      sensor_type: sensor,
      value,
      ts_event: new Date(start + Math.floor((i / count) * spanMs)).toISOString(),
    });
  });
}
