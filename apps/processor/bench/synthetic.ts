import { randomUUID } from 'node:crypto';
import { deviceId, SENSOR_TYPES, SENSORS, type TelemetryEvent } from '@telemetrypulse/shared';

/** Readings of 3 sites × 5 zones × 3 devices × 4 sensors spread over the hour before `now`. */
export function syntheticEvents(count: number, now: number): TelemetryEvent[] {
  const events: TelemetryEvent[] = [];
  for (let i = 0; i < count; i++) {
    const site = `site-0${(i % 3) + 1}`;
    const zone = `zone-0${(Math.floor(i / 3) % 5) + 1}`;
    const sensor = SENSOR_TYPES[Math.floor(i / 45) % 4] ?? 'co2';
    const [lo, hi] = SENSORS[sensor].normal;
    events.push({
      event_id: randomUUID(),
      device_id: deviceId(site, zone, Math.floor(i / 15) % 3),
      site_id: site,
      zone_id: zone,
      sensor_type: sensor,
      value:
        sensor === 'occupancy'
          ? i % 20
          : Math.round((lo + ((i * 7919) % 1000) * ((hi - lo) / 1000)) * 10) / 10,
      ts_event: new Date(now - 3_600_000 + Math.floor((i / count) * 3_600_000)).toISOString(),
    });
  }
  return events;
}
